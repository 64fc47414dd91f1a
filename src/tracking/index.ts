export * from './git.js';
export * from './head.js';
export * from './history.js';
export * from './records.js';
export * from './refname.js';
export * from './runner.js';
export * from './sync.js';
export * from './fetch.js';
