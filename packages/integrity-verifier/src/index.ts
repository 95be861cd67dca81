export { JsonlChecker } from './jsonl.js';
