import type { GraphQLResolveInfo, SelectionSetNode } from "graphql";

/** The sub-selections named `name` in a selection set, through fragments and inline fragments. */
function selectionsNamed(set: SelectionSetNode, name: string, info: GraphQLResolveInfo): SelectionSetNode[] {
  const found: SelectionSetNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind === "Field" && selection.name.value === name) {
      if (selection.selectionSet) found.push(selection.selectionSet);
      else found.push({ kind: "SelectionSet" as SelectionSetNode["kind"], selections: [] });
    } else if (selection.kind === "InlineFragment") {
      found.push(...selectionsNamed(selection.selectionSet, name, info));
    } else if (selection.kind === "FragmentSpread") {
      const fragment = info.fragments[selection.name.value];
      if (fragment) found.push(...selectionsNamed(fragment.selectionSet, name, info));
    }
  }
  return found;
}

/** Whether the field being resolved selects the field at `path` below it (e.g. edges > node > events). */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  let sets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const name of path) {
    sets = sets.flatMap((set) => selectionsNamed(set, name, info));
    if (sets.length === 0) return false;
  }
  return true;
}
