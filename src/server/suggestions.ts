/**
 * graphql-js ends some error messages with a guess drawn from the schema:
 * `Cannot query field "mee" on type "Query". Did you mean "me"?`, and the
 * same for arguments, types, enum values and input fields. With
 * introspection off, such guesses would still let a client map the schema
 * one typo at a time.
 */

/** The closing suggestion, as Apollo Server's `ApolloServerPluginDisableSuggestions` matches it. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** `message` without its closing "Did you mean ...?" suggestion, if it has one. */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}
