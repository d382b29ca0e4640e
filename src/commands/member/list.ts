import {BaseCommand} from '../../cli/base.js'
import {resolveDir} from '../../clusterdir/config.js'
import {listMembers} from '../../cluster/membership.js'
import {describeMembership} from '../../core/membership.js'

export default class MemberList extends BaseCommand {
  static override description = 'List the members of the configuration: voters and learners, up or down, and how far each trails the leader'
  static override examples = ['<%= config.bin %> member list', '<%= config.bin %> member list --json']

  async run(): Promise<unknown> {
    const {flags} = await this.parse(MemberList)
    const list = await listMembers(resolveDir(flags.dir))
    if (!this.jsonEnabled()) {
      const header = ['ID', 'ADDRESS', 'ROLE', 'STATE', 'MATCH', 'LAG']
      const dash = (v: number | null) => (v === null ? '-' : String(v))
      const rows = list.members.map((m) => [String(m.id), m.address, m.role, m.up ? 'up' : 'down', dash(m.matchIndex), dash(m.lag)])
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()
      this.log([line(header), ...rows.map(line)].join('\n'))
      this.log(
        `configuration: ${describeMembership(list.configuration)}${list.leader === null ? ' (no leader: as the freshest node reports it)' : `, leader ${list.leader}`}`,
      )
    }
    return {members: list.members, joint: list.joint, leader: list.leader, configuration: list.configuration}
  }
}
