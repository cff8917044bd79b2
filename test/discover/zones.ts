/**
 * @module Time zones the calendar tests compare the SQL aggregation, the object path and `Intl`
 * in: UTC, DST zones (Berlin, New York, Lord Howe's 30-minute DST), +5:45 (Kathmandu), −3:30 with
 * DST (St John's) and +12:45 with DST at 02:45 (Chatham).
 */
export const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Pacific/Chatham',
  'Australia/Lord_Howe',
] as const
