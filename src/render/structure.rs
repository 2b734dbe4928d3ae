//! The convention's logical structure (ISO 32000-1, 14.8): headings, paragraphs, lists, the
//! annex table, the QR code figure, the seal's field. Elements are created while the document
//! is built, in reading order; the layout then tells which marked content of which page each
//! line became (`Kid::Content`), and `pdf::write` turns the tree into the file's
//! StructTreeRoot. Anything not in the tree is an artifact (footers, frames, repeated headers).

use std::cell::RefCell;
use std::rc::Rc;

/// The standard structure types the convention uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Document,
    H1,
    H2,
    P,
    L,
    LI,
    Lbl,
    LBody,
    Table,
    TR,
    TH,
    TD,
    Figure,
    Form,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Document => "Document",
            Role::H1 => "H1",
            Role::H2 => "H2",
            Role::P => "P",
            Role::L => "L",
            Role::LI => "LI",
            Role::Lbl => "Lbl",
            Role::LBody => "LBody",
            Role::Table => "Table",
            Role::TR => "TR",
            Role::TH => "TH",
            Role::TD => "TD",
            Role::Figure => "Figure",
            Role::Form => "Form",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kid {
    Node(usize),
    /// Marked content `mcid` of page `page` (0-based).
    Content {
        page: usize,
        mcid: usize,
    },
    /// The signature widget annotation (there is one, on the last page).
    Seal,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub role: Role,
    pub parent: Option<usize>,
    /// Alternative description (figures, the seal's field).
    pub alt: Option<String>,
    pub kids: Vec<Kid>,
}

/// An element of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elem(pub usize);

/// What a line or a drawing belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Pagination and decoration, skipped by assistive technologies.
    Artifact,
    In(Elem),
}

/// The tree, shared by the elements that fill it (layout is single-threaded, as genpdf's is).
#[derive(Clone)]
pub struct Structure(Rc<RefCell<Vec<Node>>>);

impl Default for Structure {
    fn default() -> Self {
        Structure(Rc::new(RefCell::new(vec![Node {
            role: Role::Document,
            parent: None,
            alt: None,
            kids: Vec::new(),
        }])))
    }
}

impl Structure {
    pub fn root(&self) -> Elem {
        Elem(0)
    }

    /// A new element, last child of `parent`.
    pub fn add(&self, parent: Elem, role: Role) -> Elem {
        let mut nodes = self.0.borrow_mut();
        let id = nodes.len();
        nodes.push(Node {
            role,
            parent: Some(parent.0),
            alt: None,
            kids: Vec::new(),
        });
        nodes[parent.0].kids.push(Kid::Node(id));
        Elem(id)
    }

    /// A new element under the document.
    pub fn top(&self, role: Role) -> Mark {
        Mark::In(self.add(self.root(), role))
    }

    pub fn role(&self, e: Elem) -> Role {
        self.0.borrow()[e.0].role
    }

    pub fn describe(&self, e: Elem, alt: impl Into<String>) {
        self.0.borrow_mut()[e.0].alt = Some(alt.into());
    }

    pub fn push_kid(&self, e: Elem, kid: Kid) {
        self.0.borrow_mut()[e.0].kids.push(kid);
    }

    pub fn nodes(&self) -> Vec<Node> {
        self.0.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_keep_their_reading_order() {
        let s = Structure::default();
        let Mark::In(h) = s.top(Role::H1) else {
            unreachable!()
        };
        let table = s.add(s.root(), Role::Table);
        let tr = s.add(table, Role::TR);
        s.push_kid(h, Kid::Content { page: 0, mcid: 0 });
        let nodes = s.nodes();
        assert_eq!(nodes[0].kids, vec![Kid::Node(h.0), Kid::Node(table.0)]);
        assert_eq!(nodes[table.0].kids, vec![Kid::Node(tr.0)]);
        assert_eq!(nodes[tr.0].parent, Some(table.0));
    }
}
