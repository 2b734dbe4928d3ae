//! The structure tree as the file holds it (ISO 32000-1, 14.7): one StructElem per element of
//! `render::structure`, its kids as marked-content references (page, MCID) or, for the seal's
//! field, an object reference to the widget; and the parent tree that leads from a page's
//! MCIDs (and the widget's StructParent) back to their elements.

use super::objects::{text_string, Ref, Writer};
use crate::render::structure::{Elem, Kid, Node, Role};
use std::fmt::Write as _;

/// Writes the tree; returns the StructTreeRoot. `parents[p]` are the elements of page `p`'s
/// MCIDs; the widget, on the last page, has StructParent = the number of pages.
pub fn write(
    w: &mut Writer,
    nodes: &[Node],
    page_refs: &[Ref],
    parents: &[Vec<Elem>],
    widget: Option<Ref>,
) -> Ref {
    let count = page_refs.len();
    let node_refs: Vec<Ref> = nodes.iter().map(|_| w.alloc()).collect();
    let tree_root = w.alloc();
    let parent_tree = w.alloc();
    for (i, n) in nodes.iter().enumerate() {
        let parent = n.parent.map_or(tree_root, |p| node_refs[p]);
        let mut kids = String::new();
        for k in &n.kids {
            match k {
                Kid::Node(c) => {
                    let _ = write!(kids, "{} ", node_refs[*c]);
                }
                Kid::Content { page, mcid } => {
                    let _ = write!(kids, "<</Type/MCR/Pg {}/MCID {mcid}>> ", page_refs[*page]);
                }
                Kid::Seal => {
                    if let Some(wr) = widget {
                        let _ =
                            write!(kids, "<</Type/OBJR/Obj {wr}/Pg {}>> ", page_refs[count - 1]);
                    }
                }
            }
        }
        w.object(
            node_refs[i],
            &format!(
                "<</Type/StructElem/S/{}/P {parent}/K[{}]{}>>",
                n.role.name(),
                kids.trim_end(),
                attributes(n)
            ),
        );
    }
    let mut nums = String::new();
    for (page, elems) in parents.iter().enumerate() {
        let refs: Vec<String> = elems.iter().map(|e| node_refs[e.0].to_string()).collect();
        let _ = write!(nums, "{page}[{}] ", refs.join(" "));
    }
    if widget.is_some() {
        if let Some(form) = nodes.iter().position(|n| n.role == Role::Form) {
            let _ = write!(nums, "{count} {}", node_refs[form]);
        }
    }
    let next_key = count + usize::from(widget.is_some());
    w.object(parent_tree, &format!("<</Nums[{}]>>", nums.trim_end()));
    w.object(
        tree_root,
        &format!(
            "<</Type/StructTreeRoot/K[{}]/ParentTree {parent_tree}/ParentTreeNextKey {next_key}>>",
            node_refs[0]
        ),
    );
    tree_root
}

/// What PDF/UA asks of some elements: figures' alternative text, header cells' scope (the
/// annex's headers head columns), the document's language.
fn attributes(n: &Node) -> String {
    let mut extra = String::new();
    if let Some(alt) = &n.alt {
        let _ = write!(extra, "/Alt{}", text_string(alt));
    }
    if n.role == Role::TH {
        extra.push_str("/A<</O/Table/Scope/Column>>");
    }
    if n.role == Role::Document {
        extra.push_str("/Lang(fr-FR)");
    }
    extra
}
