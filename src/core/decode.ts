/**
 * @module Text of a file from its bytes: UTF-8, or UTF-16 when a byte-order mark says so.
 * @remarks Windows PowerShell 5.1 writes UTF-16LE with a byte-order mark where output is
 * redirected (`kubectl get pods -o json > pods.json`, `aws ec2 describe-instances > ec2.json`,
 * `... | ConvertTo-Csv > inventory.csv`): "about_Character_Encoding",
 * https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding.
 * Read as UTF-8 such a file is every other character a NUL, and no parser can say why.
 */
import type { Diagnostic } from './errors.js'

const UTF16LE = new TextDecoder('utf-16le')
const UTF16BE = new TextDecoder('utf-16be')
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * The text of `bytes`: UTF-16LE after the byte-order mark FF FE, UTF-16BE after FE FF (the mark
 * is dropped), else UTF-8 (a UTF-8 byte-order mark is kept, as `readFile(..., 'utf8')` keeps it:
 * the readers skip it). Invalid sequences become U+FFFD.
 */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return UTF16LE.decode(bytes)
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return UTF16BE.decode(bytes)
  return UTF8.decode(bytes)
}

/**
 * The `io/invalid-utf8` warning of a file whose text holds U+FFFD, the character
 * {@link decodeText} puts for bytes that are not UTF-8 (a Latin-1 `é`, one byte E9, in
 * `team-été`): located at the first one (1-based line and column, in UTF-16 code units as the
 * YAML locations count them); undefined when there is none. The file is read all the same (a
 * Latin-1 comment should not stop a load), but not without a word. A U+FFFD typed on purpose is
 * warned about too: no flow, label or name needs one.
 */
export function replacementWarning(file: { path: string; text: string }): Diagnostic | undefined {
  const at = file.text.indexOf('\uFFFD')
  if (at === -1) return undefined
  const before = file.text.slice(0, at)
  const line = before.split('\n').length
  const column = at - (before.lastIndexOf('\n') + 1) + 1
  return {
    code: 'io/invalid-utf8',
    severity: 'warning',
    message: `${file.path} is not UTF-8 here: bytes that are not UTF-8 read as U+FFFD (\uFFFD)`,
    hint: 'save the file as UTF-8 (or as UTF-16 with a byte order mark)',
    location: { file: file.path, line, column },
  }
}
