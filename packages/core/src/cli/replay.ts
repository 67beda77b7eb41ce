export async function replayCommand(_o: { config: string; data: string; json: boolean }, _out: (l: string) => void): Promise<number> {
  return 1;
}
