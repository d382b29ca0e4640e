// `raftctl help [COMMAND...]`: oclif's help text; with --json, a document of the commands, their
// arguments and flags (what a script or a completion generator needs, nothing of oclif's own).
import {Args, loadHelpClass, type Command} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {usageError} from '../lib/errors.js'

export default class Help extends BaseCommand {
  static override description = 'Show help for raftctl, or for a command; --json describes the commands as one document'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help put', '<%= config.bin %> help --json']
  static override strict = false
  static override args = {command: Args.string({description: 'the command to show help for', required: false})}

  async run(): Promise<unknown> {
    const {argv} = await this.parse(Help)
    const words = (argv as string[]).filter((a) => a !== '--json')
    const commands = this.config.commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
    const wanted = words.length > 0 ? commands.filter((c) => c.id === words.join(':') || c.id === words[0]) : commands
    if (words.length > 0 && wanted.length === 0) throw usageError(`unknown command ${JSON.stringify(words.join(' '))}`, 'see raftctl help')
    if (!this.jsonEnabled()) {
      const HelpClass = await loadHelpClass(this.config)
      await new HelpClass(this.config).showHelp(words)
      return undefined
    }
    return {bin: this.config.bin, version: this.config.version, commands: wanted.map(describe)}
  }
}

function describe(c: Command.Loadable) {
  const [summary = '', ...more] = (c.description ?? '').split('\n')
  return {
    name: c.id,
    summary,
    ...(more.length > 0 ? {description: more.join('\n')} : {}),
    args: Object.values(c.args ?? {}).map((a) => ({name: a.name, description: a.description ?? '', required: a.required === true})),
    flags: Object.values(c.flags ?? {})
      .filter((f) => !f.hidden)
      .map((f) => ({
        name: f.name,
        ...(f.char ? {char: f.char} : {}),
        type: f.type === 'boolean' ? 'boolean' : 'option',
        description: f.description ?? '',
        ...(f.default !== undefined && typeof f.default !== 'function' ? {default: f.default} : {}),
      })),
  }
}
