import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag} from '../cli/flags.js'
import {loadCluster, parseNodeId, raftctl, readSecret, resolveDir, type ClusterConfig} from '../clusterdir/config.js'
import {allDiskFaults, describeDiskFaults} from '../clusterdir/disk-faults.js'
import {changeLinks, clearNetFaults, parseLink, setFsyncDelay, slowQuorumRoundTrips, type LinkChange} from '../cluster/network.js'
import {describePartition} from '../cluster/partition.js'
import {currentPartition, findLeader, type PartitionResult} from '../cluster/service.js'
import type {NodeId} from '../core/types.js'
import {parseDuration} from '../lib/duration.js'
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {MAX_FSYNC_DELAY_MS} from '../storage/faulty-fs.js'
import {MAX_LINK_DELAY_MS, type PartitionRules} from '../transport/link-filter.js'

const ACTIONS = ['delay', 'loss', 'duplicate', 'slow-disk', 'clear'] as const
type Action = (typeof ACTIONS)[number]

export default class Net extends BaseCommand {
  static override description = `Degrade the network and the disks without cutting anything: per-link delay with jitter, loss, duplication, and a slow or stalled disk
delay DURATION [--jitter DURATION]: every message on the chosen links waits that long (± jitter: messages may overtake each other). loss SHARE and duplicate SHARE (20% or 0.2): that share of the messages is dropped / delivered twice. The links: all of them, --node ID's (both directions), or --link FROM:TO (one direction; repeatable). 0 removes that fault from those links.
slow-disk DURATION|stall --node ID: every fsync of that node takes that much longer (the replica waits for its disk, as it does for a real one); stall holds every fsync until cleared; 0 restores it.
clear: remove every link and disk fault (a partition stays; raftctl heal removes everything). No argument: show what is in force.`
  static override examples = [
    '<%= config.bin %> net delay 100ms --jitter 50ms',
    '<%= config.bin %> net delay 200ms --node leader',
    '<%= config.bin %> net loss 20% --link 1:2 --link 2:1',
    '<%= config.bin %> net duplicate 10%',
    '<%= config.bin %> net slow-disk 2s --node 3',
    '<%= config.bin %> net slow-disk stall --node leader',
    '<%= config.bin %> net clear',
    '<%= config.bin %> net',
  ]
  static override args = {
    action: Args.string({description: `what to change: ${ACTIONS.join(', ')} (none: show)`, required: false, options: [...ACTIONS]}),
    value: Args.string({description: 'a duration (delay, slow-disk), a share such as 20% (loss, duplicate), or stall', required: false}),
  }
  static override flags = {
    node: Flags.string({description: 'the links to and from this node (an id, or "leader"); for slow-disk, the node', helpValue: 'ID'}),
    link: Flags.string({description: 'one direction of one link (FROM:TO; repeatable)', multiple: true, helpValue: 'FROM:TO'}),
    jitter: durationFlag({description: 'delay: each message waits delay ± up to this much'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Net)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const action = args.action as Action | undefined
    if (action === undefined) {
      if (args.value !== undefined || flags.node !== undefined || flags.link !== undefined || flags.jitter !== undefined)
        throw usageError('give an action: delay, loss, duplicate, slow-disk or clear')
      return this.show(dir, config)
    }
    if (flags.jitter !== undefined && action !== 'delay') throw usageError('--jitter goes with delay')
    if (action === 'clear') {
      if (args.value !== undefined || flags.node !== undefined || flags.link !== undefined)
        throw usageError('clear takes no value and no --node or --link: it clears every link and disk fault')
      const r = await clearNetFaults(dir, config)
      if (!this.jsonEnabled()) {
        this.log(`Cleared: no link fault${r.disks.length > 0 ? `; disks of node(s) ${r.disks.join(', ')} back to normal` : ''}`)
        this.warnUnreachable(r)
      }
      return {...this.doc(dir, config, r.rules), applied: r.applied, unreachable: r.unreachable}
    }
    if (args.value === undefined) throw usageError(`${action} needs a value, e.g. ${example(action)}`)
    if (action === 'slow-disk') {
      if (flags.link !== undefined) throw usageError('slow-disk takes --node, not --link')
      const delay = args.value.trim() === 'stall' ? MAX_FSYNC_DELAY_MS : durationValue(args.value, 'slow-disk', MAX_FSYNC_DELAY_MS)
      const ids = flags.node !== undefined ? [await nodeOrLeader(dir, config, flags.node)] : config.nodes.map((n) => n.id)
      for (const id of ids) setFsyncDelay(dir, id, delay)
      if (!this.jsonEnabled())
        this.log(
          delay === 0
            ? `Disk of node(s) ${ids.join(', ')} back to normal`
            : `Slow disk on node(s) ${ids.join(', ')}: ${delay === MAX_FSYNC_DELAY_MS ? 'every fsync stalled until cleared' : `every fsync takes ${args.value} longer`}`,
        )
      return this.doc(dir, config, currentPartition(dir, config))
    }
    const links = flags.link !== undefined && flags.node !== undefined ? usage('give --node or --link, not both') : await this.links(dir, config, flags)
    const change = linkChange(action, args.value, flags.jitter)
    const r = await changeLinks(dir, config, links, change)
    if (!this.jsonEnabled()) {
      this.log(
        r.rules
          ? `Network: ${describePartition(
              r.rules,
              config.nodes.map((n) => n.id),
            )}`
          : 'Network: full connectivity, no link fault',
      )
      this.warnUnreachable(r)
    }
    // On stderr in --json mode too: a script should hear of it.
    if (change.delayMs !== undefined) this.warnSlowRoundTrips(config, r.rules)
    return {...this.doc(dir, config, r.rules), applied: r.applied, unreachable: r.unreachable}
  }

  /** Warns of nodes that as leader could not hear a quorum within an election timeout (CheckQuorum). */
  private warnSlowRoundTrips(config: ClusterConfig, rules: PartitionRules | null): void {
    const slow = slowQuorumRoundTrips(
      rules,
      config.nodes.map((n) => n.id),
      config.electionTimeoutMs,
    )
    if (slow.length === 0) return
    const worst = Math.max(...slow.map((s) => s.roundTripMs))
    process.stderr.write(
      `Warning: node(s) ${slow.map((s) => s.node).join(', ')} would wait up to ${worst}ms for a quorum's answer, at least the election timeout (${config.electionTimeoutMs}ms): as leader they may step down before they hear back, and writes may wait on elections\n`,
    )
  }

  private async links(dir: string, config: ClusterConfig, flags: {node?: string; link?: string[]}): Promise<{from: NodeId; to: NodeId}[]> {
    if (flags.link !== undefined) return flags.link.map((l) => parseLink(l, config, '--link'))
    const ids = config.nodes.map((n) => n.id)
    const node = flags.node !== undefined ? await nodeOrLeader(dir, config, flags.node) : null
    const out: {from: NodeId; to: NodeId}[] = []
    for (const a of ids) for (const b of ids) if (a !== b && (node === null || a === node || b === node)) out.push({from: a, to: b})
    return out
  }

  private show(dir: string, config: ClusterConfig): unknown {
    const rules = currentPartition(dir, config)
    const doc = this.doc(dir, config, rules)
    if (!this.jsonEnabled()) {
      this.log(
        rules
          ? `network: ${describePartition(
              rules,
              config.nodes.map((n) => n.id),
            )}`
          : 'network: full connectivity, no link fault',
      )
      const disks = doc.disks.map((d) => `node ${d.node}: ${describeDiskFaults(d)}`)
      this.log(disks.length > 0 ? `disks: ${disks.join('; ')}` : 'disks: no fault')
    }
    return doc
  }

  private doc(dir: string, config: ClusterConfig, rules: PartitionResult['rules']) {
    const disks = allDiskFaults(dir, config)
      .map((f, i) => ({node: config.nodes[i]!.id, ...f}))
      .filter((d) => Object.keys(d).length > 1)
    return {partition: rules, disks}
  }

  private warnUnreachable(r: PartitionResult): void {
    if (r.unreachable.length > 0) process.stderr.write(`Warning: node(s) ${r.unreachable.join(', ')} did not answer; they apply it when they start\n`)
  }
}

function usage(message: string): never {
  throw usageError(message)
}

function example(action: Action): string {
  switch (action) {
    case 'delay':
      return 'raftctl net delay 100ms'
    case 'slow-disk':
      return 'raftctl net slow-disk 2s --node 3'
    default:
      return `raftctl net ${action} 20%`
  }
}

async function nodeOrLeader(dir: string, config: ClusterConfig, text: string): Promise<NodeId> {
  if (text !== 'leader') return parseNodeId(text, config)
  const leader = await findLeader(config, readSecret(dir))
  if (leader === null) throw new CliError('no leader right now', ExitCode.unavailable, 'unavailable', `check ${raftctl(dir, 'status')}`)
  return leader
}

function durationValue(text: string, what: string, maxMs: number): number {
  if (text.trim() === '0') return 0
  const r = parseDuration(text)
  if (!r.ok) throw usageError(`${what}: ${r.problem}`)
  if (r.ms > maxMs) throw usageError(`${what}: at most ${maxMs / 1000}s`)
  return r.ms
}

/** `20%` or `0.2`: a share between 0 and 1. */
function share(text: string, what: string): number {
  const t = text.trim()
  const m = /^(\d+(?:\.\d+)?)%$/.exec(t)
  const v = m ? Number(m[1]) / 100 : /^\d+(\.\d+)?$/.test(t) ? Number(t) : NaN
  if (!(v >= 0 && v <= 1)) throw usageError(`${what}: ${JSON.stringify(text)} is not a share: use a percentage such as 20% (or 0.2)`)
  return v
}

function linkChange(action: 'delay' | 'loss' | 'duplicate', value: string, jitterMs: number | undefined): LinkChange {
  switch (action) {
    case 'delay': {
      const delayMs = durationValue(value, 'delay', MAX_LINK_DELAY_MS)
      if (jitterMs !== undefined && jitterMs > MAX_LINK_DELAY_MS) throw usageError(`--jitter: at most ${MAX_LINK_DELAY_MS / 1000}s`)
      return {delayMs, jitterMs: delayMs === 0 ? 0 : (jitterMs ?? 0)}
    }
    case 'loss':
      return {loss: share(value, 'loss')}
    case 'duplicate':
      return {duplicate: share(value, 'duplicate')}
  }
}
