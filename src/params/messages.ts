/**
 * The one catalogue of user-facing parameter messages (vega-lite keeps all its messages in one
 * place; so do we). Each names the parameter, the value given and what is allowed.
 */
export const PARAM_MESSAGES = {
  unknown: (name: string, known: string[]) =>
    `unknown parameter '${name}'; known parameters: ${known.join(', ')}`,
  unknownClose: (name: string, suggestion: string) =>
    `unknown parameter '${name}'; did you mean '${suggestion}'?`,
  retired: (name: string, instead: string) =>
    `parameter '${name}' no longer exists; ${instead}`,
  notInteger: (name: string, value: unknown, range: string) =>
    `parameter '${name}' = ${fmt(value)} is not allowed: it must be an integer in ${range}`,
  notNumber: (name: string, value: unknown, range: string) =>
    `parameter '${name}' = ${fmt(value)} is not allowed: it must be a number in ${range}`,
  outOfRange: (name: string, value: unknown, range: string) =>
    `parameter '${name}' = ${fmt(value)} is out of range: allowed ${range}`,
  notBoolean: (name: string, value: unknown) =>
    `parameter '${name}' = ${fmt(value)} is not allowed: it must be true or false`,
  notChoice: (name: string, value: unknown, choices: readonly string[]) =>
    `parameter '${name}' = ${fmt(value)} is not allowed: choose one of ${choices.map((c) => `'${c}'`).join(', ')}`,
  duplicateGroup: (group: string) => `parameter group '${group}' is declared twice; declare each group once`,
  badDeclaration: (name: string, problem: string) => `parameter '${name}' is declared wrongly: ${problem}`,
} as const;

function fmt(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}
