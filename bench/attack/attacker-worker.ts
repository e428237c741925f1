/**
 * Runs one case's attackers on a thread of their own, so that opening thousands of sockets or
 * writing megabytes does not delay the probe's real callbacks in the main thread: the probe
 * then measures the server, not the attacker. Posts the tallies when told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attackCases, type AttackTally, type AttackTarget } from './cases.js';

const { caseName, target, attackers } = workerData as { caseName: string; target: AttackTarget; attackers: number };
const attackCase = attackCases().find((candidate) => candidate.name === caseName);
if (!attackCase) throw new Error(`unknown attack case ${caseName}`);
const controller = new AbortController();
const tallies: AttackTally[] = Array.from({ length: attackers }, () => ({ units: 0, bytes: 0, outcomes: {} }));
const attacking = tallies.map((tally) => attackCase.attack(target, tally, controller.signal));
parentPort!.once('message', async () => {
  controller.abort();
  await Promise.all(attacking);
  parentPort!.postMessage(tallies);
});
parentPort!.postMessage('started');
