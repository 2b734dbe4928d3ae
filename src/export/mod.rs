//! The export of conventioned schools: its rows (`rows`, shared by the files and the GAR's
//! records) and its files written page after page (`file`, for the export-schools job).

pub mod file;
pub mod rows;
