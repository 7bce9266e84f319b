/** The package ships no types: its one export is Redis Cluster's slot (0-16383) of a key or channel. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
