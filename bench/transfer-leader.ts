// Moves leadership to node ID (the admin `transfer` request), e.g. onto a replica started by hand
// under `node --cpu-prof` so the profile is the leader's:
//   node --import tsx bench/transfer-leader.ts DIR ID
import {loadCluster, readSecret} from '../src/clusterdir/config.js'
import {adminRequest, agreedLeader, nodeStatuses} from '../src/cluster/status.js'

async function main(): Promise<number> {
  const [dir, idText] = process.argv.slice(2)
  const to = Number(idText)
  if (!dir || !Number.isInteger(to) || to < 1) {
    process.stderr.write('usage: node --import tsx bench/transfer-leader.ts DIR ID\n')
    return 2
  }
  const config = loadCluster(dir)
  const secret = readSecret(dir)
  for (let i = 0; i < 50; i++) {
    const leader = agreedLeader(await nodeStatuses(config, secret, 500))
    if (leader === to) {
      process.stdout.write(`node ${to} leads\n`)
      return 0
    }
    if (leader !== null) await adminRequest(config, secret, leader, {type: 'transfer', to}, 1000).catch(() => {})
    await new Promise((r) => setTimeout(r, 300))
  }
  process.stderr.write(`Error: node ${to} did not become leader\n`)
  return 1
}

main().then((code) => process.exit(code))
