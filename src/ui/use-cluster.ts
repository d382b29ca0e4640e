// The dashboard's polling loop as a hook: polls the source every `intervalMs` (never two polls at
// once), polls early when the source reports a change or an action finished, and dispatches what
// arrives into the view-model reducer. Stops and closes the source when the component unmounts.
import {useEffect, useRef} from 'react'
import type {StatusSource} from './cluster-source.js'
import type {DashboardAction} from './model.js'

export interface ClusterPoll {
  /** Poll now instead of at the next tick. */
  refresh(): void
}

export function useClusterPoll(source: StatusSource, intervalMs: number, dispatch: (action: DashboardAction) => void): ClusterPoll {
  const wakeRef = useRef<() => void>(() => {})
  useEffect(() => {
    let stopped = false
    let early = false
    let timer: NodeJS.Timeout | undefined
    let wake: (() => void) | null = null
    wakeRef.current = () => {
      early = true
      wake?.()
    }
    source.onEvents((events) => {
      if (!stopped) dispatch({type: 'events', events})
    })
    source.onChange(() => wakeRef.current())
    void (async () => {
      while (!stopped) {
        const started = Date.now()
        early = false
        try {
          const status = await source.poll()
          if (!stopped) dispatch({type: 'status', status, time: Date.now()})
        } catch (error) {
          if (!stopped) dispatch({type: 'poll-failed', message: error instanceof Error ? error.message : String(error), time: Date.now()})
        }
        if (stopped) break
        // A change reported during the poll deserves another look right away (but not a busy loop).
        const wait = early ? 50 : Math.max(0, intervalMs - (Date.now() - started))
        await new Promise<void>((resolve) => {
          wake = () => {
            wake = null
            clearTimeout(timer)
            resolve()
          }
          timer = setTimeout(() => wake?.(), wait)
        })
      }
    })()
    return () => {
      stopped = true
      wake?.()
      void source.close()
    }
  }, [source, intervalMs, dispatch])
  return {refresh: () => wakeRef.current()}
}
