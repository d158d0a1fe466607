export * from './rule-type';
export * from './flat.rule';
export * from './percent.rule';
export * from './tiered.rule';
export * from './rules.registry';
