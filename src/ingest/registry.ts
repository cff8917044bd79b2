/**
 * @module Every flow parser, by format name. Each parser module adds itself here.
 */
import type { AnyParser, FlowFormat } from './types.js'
import { awsVpcParser } from './formats/aws-vpc.js'
import { azureNsgParser, azureVnetParser } from './formats/azure.js'
import { gcpVpcParser } from './formats/gcp-vpc.js'
import { csvParser } from './formats/csv.js'
import { zeekParser } from './formats/zeek.js'
import { hubbleParser } from './formats/hubble.js'
import { conntrackParser } from './formats/conntrack.js'
import { netflowParser } from './formats/netflow.js'
import { bulkheadJsonlParser } from './formats/bulkhead-jsonl.js'
import { goflow2Parser } from './formats/goflow2.js'

/** All parsers, in detection-priority order (more specific formats first). */
export const PARSERS: readonly AnyParser[] = [
  // parsers register here, one import each
  netflowParser,
  awsVpcParser,
  azureNsgParser,
  azureVnetParser,
  gcpVpcParser,
  bulkheadJsonlParser,
  goflow2Parser,
  csvParser,
  zeekParser,
  hubbleParser,
  conntrackParser,
]

/** The parser for a format name, or undefined. */
export function parserFor(format: FlowFormat): AnyParser | undefined {
  return PARSERS.find((p) => p.format === format)
}
