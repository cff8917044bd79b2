/**
 * @module The shared fixture's (SHOP, SHOP_POLICIES in kubernetes-fixture.ts) verdicts on chosen flows,
 * worked out by hand from DESIGN.md's semantics (allowed iff an allow rule matches and no deny
 * rule does), not from the reference evaluator: an end-to-end check of compiler and checker
 * independent of both (s32 hH).
 */
/** `[src, dst, protocol, port, allowed, why]`. */
export const SHOP_HAND: readonly (readonly [string, string, number, number, boolean, string])[] = [
  ['203.0.113.5', '10.244.1.10', 6, 443, true, 'internet-to-web'],
  ['203.0.113.5', '10.244.1.10', 6, 8080, false, 'no port'],
  ['10.1.2.3', '10.244.1.10', 6, 443, false, 'except 10.0.0.0/8'],
  ['10.244.1.10', '10.244.1.11', 6, 8050, true, 'web-to-api'],
  ['10.244.1.10', '10.244.1.11', 6, 8101, false, 'past the range'],
  ['10.244.1.11', '10.244.1.12', 6, 5432, true, 'api-to-db'],
  ['10.244.1.11', '10.244.1.12', 6, 5433, false, 'other port'],
  ['10.244.1.10', '10.244.1.12', 6, 5432, false, 'web is not api'],
  ['10.244.1.11', '10.244.2.10', 6, 443, true, 'api-to-pay, from-shop'],
  ['10.244.1.12', '10.96.0.10', 17, 53, true, 'dns'],
  ['10.244.1.12', '10.96.0.11', 17, 53, false, 'not the DNS address'],
  ['10.244.2.10', '198.51.100.7', 6, 22, true, 'api-to-bank'],
  ['10.244.2.10', '198.51.100.7', 6, 23, false, 'other port'],
  ['10.244.2.10', '10.244.2.11', 17, 9999, true, 'pay api-to-db any'],
  ['10.244.3.10', '10.244.1.12', 6, 5432, true, 'backup-dbs'],
  ['10.244.3.10', '10.244.2.11', 6, 22, true, 'backup-dbs 1-65535'],
  ['10.244.3.11', '10.244.1.10', 6, 22, true, 'debug-anywhere'],
  ['10.244.3.11', '10.244.2.10', 6, 443, false, 'namespace NotIn pay'],
  ['10.244.3.11', '10.244.1.12', 6, 5432, false, 'no-dev-to-db beats debug-anywhere'],
  ['10.244.3.11', '10.244.3.10', 6, 22, true, 'debug-anywhere in ops'],
  ['10.244.3.11', '8.8.8.8', 6, 443, false, 'a label selector takes no outside address'],
  ['10.244.1.10', '8.8.8.8', 6, 443, false, 'no rule'],
  ['10.244.2.11', '10.244.2.10', 6, 443, false, 'no rule'],
]
