import { GraphQLError, Kind, type FragmentDefinitionNode, type SelectionSetNode, type ValidationRule } from 'graphql';
import { ErrorCode } from '../contract/errors';

/**
 * A validation rule refusing documents that select more than `max` fields,
 * counting every field of every operation with fragments expanded where they
 * are spread. This bounds what aliases and nested fragments can make one
 * request cost; counting stops as soon as the limit is passed, so a document
 * built to explode under expansion is refused quickly.
 */
export function maxFieldsRule(max: number): ValidationRule {
  return (context) => {
    const document = context.getDocument();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    let count = 0;
    const visiting = new Set<string>();
    const countIn = (selectionSet: SelectionSetNode): void => {
      for (const selection of selectionSet.selections) {
        if (count > max) return;
        if (selection.kind === Kind.FIELD) {
          count++;
          if (selection.selectionSet) countIn(selection.selectionSet);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          countIn(selection.selectionSet);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // Unknown or cyclic spreads are reported by graphql's own rules.
          if (!fragment || visiting.has(name)) continue;
          visiting.add(name);
          countIn(fragment.selectionSet);
          visiting.delete(name);
        }
      }
    };
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) countIn(definition.selectionSet);
    }
    if (count > max) {
      context.reportError(
        new GraphQLError(`The document selects more than ${max} fields; split it into smaller requests.`, {
          extensions: { code: ErrorCode.ValidationFailed },
        }),
      );
    }
    return {};
  };
}
