//! Lists come in pages ordered by a text key that only grows (a time-ordered
//! id, or a case code): a page is the rows after the cursor, the key of the
//! previous page's last row, so pages neither skip nor repeat rows however
//! many are added meanwhile.

use diesel::dsl::{Asc, Gt};
use diesel::expression::Expression;
use diesel::query_dsl::methods::{FilterDsl, LimitDsl, OrderDsl};
use diesel::sql_types::Text;
use diesel::ExpressionMethods;
use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    /// The key of the last row of the previous page.
    pub after: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// A page of a list: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many items match in all pages together, when asked for
    /// (`?count=true` where a list offers it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl PageRequest {
    /// Narrows `query` to this page of rows ordered by `key`. It fetches one
    /// row more than the page, so that [`Self::page`] knows whether another
    /// page follows.
    pub fn apply<Q, K>(&self, query: Q, key: K) -> Q
    where
        K: Expression<SqlType = Text> + ExpressionMethods + Copy,
        Q: OrderDsl<Asc<K>, Output = Q>
            + LimitDsl<Output = Q>
            + FilterDsl<Gt<K, String>, Output = Q>,
    {
        let query = query.order(key.asc()).limit(self.limit + 1);
        match &self.after {
            Some(after) => query.filter(key.gt(after.clone())),
            None => query,
        }
    }

    /// Cuts the extra row and turns the rest into a page.
    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> String,
        view: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(0));
        let next_cursor = if more { rows.last().map(&key) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
            total: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_names_its_last_key_as_the_next_cursor() {
        let request = PageRequest {
            limit: 2,
            after: None,
        };
        let page = request.page(vec![1, 2, 3], |n| n.to_string(), |n| n * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = request.page(vec![3], |n| n.to_string(), |n| n);
        assert_eq!(last.next_cursor, None);
    }
}
