import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from '../contract/errors';

/**
 * A validation rule refusing documents that select more than `max` fields,
 * counting every field of every operation with fragments expanded where they
 * are spread. This bounds what aliases and nested fragments can make one
 * request cost. Each fragment is counted once and its count reused wherever
 * it is spread, so the rule's work grows with the document's size, never with
 * its expansion: a chain of fragments that each spread the next twice (2^n
 * fields in a document of n lines) costs n steps, not 2^n. Counts are capped
 * just past `max`, so that they stay small numbers.
 */
export function maxFieldsRule(max: number): ValidationRule {
  return (context) => {
    if (countFields(context.getDocument(), max + 1) > max) {
      context.reportError(
        new GraphQLError(`The document selects more than ${max} fields; split it into smaller requests.`, {
          extensions: { code: ErrorCode.ValidationFailed },
        }),
      );
    }
    return {};
  };
}

/**
 * Fields the document's operations select with fragments expanded, or `cap`
 * if that many or more. Each selection set of the document is visited at
 * most once (fragments are memoised); unknown and cyclic spreads count
 * nothing, as graphql's own rules report them.
 */
export function countFields(document: DocumentNode, cap: number): number {
  const fragments = fragmentsOf(document);
  const counted = new Map<string, number>();
  const visiting = new Set<string>();
  const fragmentCount = (name: string): number => {
    const known = counted.get(name);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (!fragment || visiting.has(name)) return 0;
    visiting.add(name);
    const count = countIn(fragment.selectionSet);
    visiting.delete(name);
    counted.set(name, count);
    return count;
  };
  const countIn = (selectionSet: SelectionSetNode): number => {
    let count = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) count += 1 + (selection.selectionSet ? countIn(selection.selectionSet) : 0);
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += countIn(selection.selectionSet);
      else count += fragmentCount(selection.name.value);
      if (count >= cap) return cap;
    }
    return count;
  };
  let total = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) total = Math.min(cap, total + countIn(definition.selectionSet));
  }
  return total;
}

/** The document's fragment definitions by name (the first of each name: graphql's rules refuse repeats). */
function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) {
      fragments.set(definition.name.value, definition);
    }
  }
  return fragments;
}

/** What `estimateResponseBytes` assumes of fields the schema does not bound by an argument. */
export interface CostModel {
  /** Items of a list field without first/last (or a connection's page) to count on, by field name. */
  listSizes: Record<string, number>;
  /** Items of any other list. */
  defaultListSize: number;
  /** Bytes of a scalar leaf, by `Type.field`, when it can be large. */
  leafBytes: Record<string, number>;
  /** Bytes of any other leaf, its name and punctuation included. */
  defaultLeafBytes: number;
  /** Items of a connection (a field with first/last) when neither is given, by field name. */
  defaultPageSizes: Record<string, number>;
}

/**
 * The most bytes an operation's answer can take: every leaf at its largest,
 * every list at its page size (first/last, with variables' values) or its
 * bound. Fragments are expanded where spread, each measured once per type
 * and page it is spread at, so the work is linear in the document. Computed
 * from the document alone, before any resolver runs, so that a small document
 * cannot make the server build a huge answer (50 aliased pages of full-length
 * messages).
 */
export function estimateResponseBytes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  model: CostModel,
): number {
  return estimate(schema, document, operationName, variables, model).bytes;
}

/** `estimateResponseBytes`, and whether the figure depends on the variables' values (a page size given by one). */
export function estimate(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  model: CostModel,
): { bytes: number; readsVariables: boolean } {
  let readsVariables = false;
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return { bytes: 0, readsVariables };
  const root = schema.getRootType(operation.operation);
  if (!root) return { bytes: 0, readsVariables };
  const fragments = fragmentsOf(document);
  // Coerced only when a page size names a variable: most operations read none.
  let variableValues: Record<string, unknown> | null = null;
  const valuesOf = (node: FieldNode): Record<string, unknown> => {
    if (!node.arguments?.some((a) => a.value.kind === Kind.VARIABLE)) return {};
    readsVariables = true;
    if (variableValues === null) {
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
      variableValues = 'coerced' in coerced ? (coerced.coerced ?? {}) : {};
    }
    return variableValues;
  };

  const pageSizeOf = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | null => {
    if (!field.args.some((a) => a.name === 'first' || a.name === 'last')) return null;
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, valuesOf(node));
    } catch {
      // Bad arguments fail later, before any work; count the field at its largest meanwhile.
    }
    const given = [args.first, args.last].find((v): v is number => typeof v === 'number');
    return given ?? model.defaultPageSizes[field.name] ?? model.defaultListSize;
  };

  const visiting = new Set<string>();
  /** A fragment's bytes by name, type and page: each spread of it after the first costs one lookup. */
  const fragmentBytes = new Map<string, number>();
  const sizeOf = (type: GraphQLOutputType, selections: SelectionSetNode | undefined, page: number | null): number => {
    if (isNonNullType(type)) return sizeOf(type.ofType, selections, page);
    if (isListType(type)) return (page ?? model.defaultListSize) * sizeOf(type.ofType, selections, null);
    if (!selections || !(isObjectType(type) || isInterfaceType(type))) return model.defaultLeafBytes;
    return selectionBytes(type, selections, page);
  };
  const selectionBytes = (
    parent: GraphQLObjectType | GraphQLInterfaceType,
    selections: SelectionSetNode,
    page: number | null,
  ): number => {
    let total = 0;
    for (const selection of selections.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += selectionBytes(parent, selection.selectionSet, page);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const key = `${name}\0${parent.name}\0${page}`;
        let bytes = fragmentBytes.get(key);
        if (bytes === undefined) {
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue;
          visiting.add(name);
          bytes = selectionBytes(parent, fragment.selectionSet, page);
          visiting.delete(name);
          fragmentBytes.set(key, bytes);
        }
        total += bytes;
      } else {
        const field = parent.getFields()[selection.name.value];
        if (!field) continue; // __typename and introspection: small
        const leaf = model.leafBytes[`${parent.name}.${field.name}`];
        if (leaf !== undefined) {
          total += leaf;
          continue;
        }
        // A connection's page size reaches its edges list; other lists use their own bound.
        const ownPage = pageSizeOf(field, selection);
        const listPage = ownPage ?? (field.name === 'edges' ? page : (model.listSizes[field.name] ?? null));
        total += sizeOf(field.type, selection.selectionSet, ownPage !== null ? ownPage : listPage);
      }
    }
    return total;
  };
  return { bytes: selectionBytes(root, operation.selectionSet, null), readsVariables };
}

/** What one operation's answer could cost, and the error refusing it when that passes the limit. */
export interface ResponseCost {
  /** `estimateResponseBytes` of the operation. */
  cost: number;
  /** BAD_USER_INPUT saying both figures, or null when the cost is within the limit. */
  error: GraphQLError | null;
}

/**
 * The operation's estimated answer size (`estimateResponseBytes` under
 * `model`), with BAD_USER_INPUT saying both figures when it could exceed
 * `maxBytes`.
 */
export function responseCost(
  request: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName: string | null | undefined;
    variables: Record<string, unknown> | null | undefined;
  },
  model: CostModel,
  maxBytes: number,
): ResponseCost {
  return costWithin(
    estimateResponseBytes(request.schema, request.document, request.operationName, request.variables, model),
    maxBytes,
  );
}

/** `cost` against `maxBytes`: BAD_USER_INPUT saying both figures when it passes the limit. */
export function costWithin(cost: number, maxBytes: number): ResponseCost {
  if (cost <= maxBytes) return { cost, error: null };
  const n = (x: number) => x.toLocaleString('en-US');
  const error = new GraphQLError(
    `This operation costs ${n(cost)} bytes at most to answer; the limit is ${n(maxBytes)}. ` +
      'Ask for fewer or smaller pages, or split it into several requests.',
    { extensions: { code: ErrorCode.BadUserInput, cost, limit: maxBytes } },
  );
  return { cost, error };
}
