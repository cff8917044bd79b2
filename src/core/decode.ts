/**
 * @module Text of a file from its bytes: UTF-8, or UTF-16 when a byte-order mark says so.
 * @remarks Windows PowerShell 5.1 writes UTF-16LE with a byte-order mark where output is
 * redirected (`kubectl get pods -o json > pods.json`, `aws ec2 describe-instances > ec2.json`,
 * `... | ConvertTo-Csv > inventory.csv`): "about_Character_Encoding",
 * https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding.
 * Read as UTF-8 such a file is every other character a NUL, and no parser can say why.
 */

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
