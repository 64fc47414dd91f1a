/**
 * A template that cannot be parsed or executed: the message as Go words it (without Go's
 * `template: name:line:col:` prefix) and the offset in the template text it concerns, so the
 * caller can locate it in the stack file.
 */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}
