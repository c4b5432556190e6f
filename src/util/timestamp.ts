/** Timezone-free, sortable run names: the UTC date and time as `YYYYMMDD-HHMMSS`. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
