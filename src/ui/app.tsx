// The dashboard container: owns the view-model state (reducer), runs the polling hook, maps keys
// to selection, actions and quit, runs the actions and reports their outcome into the feed, and
// follows the terminal's size. Everything it shows is drawn by the presentational <Dashboard>.
import {useApp, useInput, useStdin, useStdout} from 'ink'
import {useCallback, useEffect, useMemo, useReducer, useRef, useState} from 'react'
import type {NodeId} from '../core/types.js'
import type {ClusterActions} from './actions.js'
import type {StatusSource} from './cluster-source.js'
import {Dashboard} from './dashboard.js'
import {commandForKey, dashboardView, initialState, moveSelection, reduce, type NodeAction} from './model.js'
import {useClusterPoll} from './use-cluster.js'

export interface DashboardAppProps {
  dir: string
  nodeIds: NodeId[]
  source: StatusSource
  actions: ClusterActions
  intervalMs: number
  color: boolean
  /** Fixed terminal size (tests); else the output stream's, following resizes. */
  size?: {columns: number; rows: number}
}

export function DashboardApp({dir, nodeIds, source, actions, intervalMs, color, size}: DashboardAppProps) {
  const [state, dispatch] = useReducer(reduce, nodeIds, initialState)
  const {refresh} = useClusterPoll(source, intervalMs, dispatch)
  const {exit} = useApp()
  const {isRawModeSupported} = useStdin()
  const terminal = useTerminalSize(size)
  // Keys can arrive several in one chunk ("↓↓↓i") before React renders: the selection and the
  // actions in flight are tracked here, synchronously, so `i` acts on the node the arrows chose.
  const selectedRef = useRef(state.selected)
  const nodeIdsRef = useRef(state.nodeIds)
  nodeIdsRef.current = state.nodeIds
  // A removed member's row is gone: the reducer moved the selection, follow it.
  if (!state.nodeIds.includes(selectedRef.current)) selectedRef.current = state.selected
  const pendingRef = useRef(new Set<number>())

  const run = useCallback(
    (action: NodeAction) => {
      const node = action === 'heal' ? null : selectedRef.current
      const key = node ?? 0
      if (pendingRef.current.has(key)) return
      pendingRef.current.add(key)
      dispatch({type: 'action-started', action, node, time: Date.now()})
      const job =
        action === 'kill' ? actions.kill(node!) : action === 'restart' ? actions.restart(node!) : action === 'isolate' ? actions.isolate(node!) : actions.heal()
      job
        .then(
          (message) => dispatch({type: 'action-finished', action, node, ok: true, message, time: Date.now()}),
          (error: unknown) =>
            dispatch({type: 'action-finished', action, node, ok: false, message: error instanceof Error ? error.message : String(error), time: Date.now()}),
        )
        .finally(() => {
          pendingRef.current.delete(key)
          refresh()
        })
      refresh()
    },
    [actions, refresh],
  )

  useInput(
    (input, key) => {
      const cmd = commandForKey(input, key)
      switch (cmd?.type) {
        case 'quit':
          return exit()
        case 'move': {
          const next = moveSelection(nodeIdsRef.current, selectedRef.current, cmd.delta)
          selectedRef.current = next
          return dispatch({type: 'select', node: next})
        }
        case 'run':
          return run(cmd.action)
      }
    },
    // Ink 6 reports `undefined`, not false, when stdin is not a terminal.
    {isActive: isRawModeSupported === true},
  )

  const view = useMemo(() => dashboardView(state, dir), [state, dir])
  // One line less than the terminal: a frame as tall as the screen makes Ink clear it on every render.
  return <Dashboard view={view} width={terminal.columns} height={Math.max(8, terminal.rows - 1)} color={color} />
}

function useTerminalSize(fixed?: {columns: number; rows: number}): {columns: number; rows: number} {
  const {stdout} = useStdout()
  const read = () => ({columns: fixed?.columns ?? (stdout.columns || 80), rows: fixed?.rows ?? (stdout.rows || 24)})
  const [size, setSize] = useState(read)
  useEffect(() => {
    if (fixed) return
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, fixed?.columns, fixed?.rows])
  return fixed ?? size
}
