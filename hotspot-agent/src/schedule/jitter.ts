/**
 * A random delay in [0, jitterSeconds] added to every scheduled check, so devices started together
 * (a firmware update, a power cut) do not poll the registry in lockstep.
 */
export function jitterDelayMs(jitterSeconds: number, random: () => number = Math.random): number {
  if (jitterSeconds <= 0) return 0;
  return Math.floor(random() * (jitterSeconds * 1000 + 1));
}
