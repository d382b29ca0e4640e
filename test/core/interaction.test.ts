// The scripted interaction tests: every test/core/testdata/*.txt runs through the verbs of
// interaction.ts, each directive's output checked against the one written below it.
// `UPDATE=1 npm test -- test/core/interaction.test.ts` rewrites the expected outputs instead, so a
// change of the core's behaviour shows as a diff of the scripts (review it, then commit it).
import {test} from 'node:test'
import {readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {join, relative} from 'node:path'
import {runScript} from './datadriven.js'
import {Interaction} from './interaction.js'

const dir = fileURLToPath(new URL('./testdata/', import.meta.url))
const update = (process.env.UPDATE ?? '') !== '' && process.env.UPDATE !== '0'

for (const name of readdirSync(dir)
  .filter((n) => n.endsWith('.txt'))
  .sort()) {
  const path = join(dir, name)
  test(`script ${name}`, () => {
    const interaction = new Interaction()
    runScript(path, (d) => interaction.run(d), {update, name: relative(process.cwd(), path)})
  })
}
