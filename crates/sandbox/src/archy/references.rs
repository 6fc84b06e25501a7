//! References inside a flow file (`startUpRef`, `targetTaskRef`, `defaultChildMenuRef`…):
//! absolute from the document, relative from an enclosing mapping.

use serde_yaml_ng::{Mapping, Value};

use super::{as_str, get};

/// Resolves a reference: absolute (`/inboundCall/tasks/task[X]`) from the document, relative
/// (`./menus/menu[X]`) from the innermost of `bases` where it resolves. Each step is a key,
/// or `item[refId]`: the list item whose `item` mapping has that `refId`.
pub fn resolve<'a>(top: &'a Mapping, bases: &[&'a Mapping], r: &str) -> Option<&'a Mapping> {
    if let Some(rest) = r.strip_prefix('/') {
        return resolve_from(top, rest);
    }
    let rest = r.strip_prefix("./")?;
    bases.iter().rev().find_map(|b| resolve_from(b, rest))
}

fn resolve_from<'a>(base: &'a Mapping, path: &str) -> Option<&'a Mapping> {
    let steps: Vec<&str> = path.split('/').collect();
    let mut cur = base;
    let mut i = 0;
    while i < steps.len() {
        match get(cur, steps[i])? {
            Value::Mapping(m) => {
                cur = m;
                i += 1;
            }
            // A list is stepped into by the item selector that follows it.
            Value::Sequence(items) => {
                let (item, ref_id) = steps.get(i + 1)?.strip_suffix(']')?.split_once('[')?;
                cur = items.iter().find_map(|it| match it {
                    Value::Mapping(m) => match get(m, item) {
                        Some(Value::Mapping(inner))
                            if get(inner, "refId").and_then(as_str).as_deref() == Some(ref_id) =>
                        {
                            Some(inner)
                        }
                        _ => None,
                    },
                    _ => None,
                })?;
                i += 2;
            }
            _ => return None,
        }
    }
    Some(cur)
}
