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
 * bound. Fragments are expanded where spread. Computed from the document
 * alone, before any resolver runs, so that a small document cannot make the
 * server build a huge answer (50 aliased pages of full-length messages).
 */
export function estimateResponseBytes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  model: CostModel,
): number {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return 0;
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let variableValues: Record<string, unknown> = {};
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if ('coerced' in coerced) variableValues = coerced.coerced ?? {};

  const pageSizeOf = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | null => {
    if (!field.args.some((a) => a.name === 'first' || a.name === 'last')) return null;
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, variableValues);
    } catch {
      // Bad arguments fail later, before any work; count the field at its largest meanwhile.
    }
    const given = [args.first, args.last].find((v): v is number => typeof v === 'number');
    return given ?? model.defaultPageSizes[field.name] ?? model.defaultListSize;
  };

  const visiting = new Set<string>();
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
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        visiting.add(name);
        total += selectionBytes(parent, fragment.selectionSet, page);
        visiting.delete(name);
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
  return selectionBytes(root, operation.selectionSet, null);
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
 * `maxBytes`. Used by both transports.
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
  const cost = estimateResponseBytes(request.schema, request.document, request.operationName, request.variables, model);
  if (cost <= maxBytes) return { cost, error: null };
  const n = (x: number) => x.toLocaleString('en-US');
  const error = new GraphQLError(
    `This operation costs ${n(cost)} bytes at most to answer; the limit is ${n(maxBytes)}. ` +
      'Ask for fewer or smaller pages, or split it into several requests.',
    { extensions: { code: ErrorCode.BadUserInput, cost, limit: maxBytes } },
  );
  return { cost, error };
}

/** `responseCost`'s error alone: BAD_USER_INPUT when the answer could exceed `maxBytes`, null when it fits. */
export function checkResponseCost(
  request: Parameters<typeof responseCost>[0],
  model: CostModel,
  maxBytes: number,
): GraphQLError | null {
  return responseCost(request, model, maxBytes).error;
}
