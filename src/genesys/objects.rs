//! The org objects flows name: data actions, data tables, schedule groups, prompts and
//! queues, read page by page.

use super::*;

impl GenesysClient {
    /// Every page of a Platform API listing (`pageSize`/`pageNumber`, `pageCount`).
    pub(super) async fn list_all<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, GenesysError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(path);
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in query {
                    q.append_pair(k, v);
                }
                q.append_pair("pageSize", PAGE_SIZE)
                    .append_pair("pageNumber", &page.to_string());
            }
            let a = self.call(Method::GET, endpoint, url).await?;
            let l: Listing<T> = parse(endpoint, &a.body)?;
            out.extend(l.entities);
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// `GET /api/v2/integrations/actions` (every page) with each action's contract.
    pub async fn data_actions(&self) -> Result<Vec<DataActionInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/integrations/actions";
        let list: Vec<ActionResponse> = self
            .list_all(EP, &["api", "v2", "integrations", "actions"], &[])
            .await?;
        let keys = |s: Option<SchemaDoc>| -> Vec<String> {
            s.unwrap_or_default()
                .properties
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        Ok(list
            .into_iter()
            .map(|a| {
                let (input, output) = match a.contract {
                    Some(c) => (
                        c.input.and_then(|i| i.input_schema),
                        c.output.and_then(|o| o.success_schema),
                    ),
                    None => (None, None),
                };
                DataActionInfo {
                    category: a.category,
                    name: a.name,
                    inputs: keys(input),
                    outputs: keys(output),
                }
            })
            .collect())
    }

    /// `GET /api/v2/flows/datatables?expand=schema` (every page).
    pub async fn data_tables(&self) -> Result<Vec<DataTableInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows/datatables";
        let list: Vec<DataTableResponse> = self
            .list_all(
                EP,
                &["api", "v2", "flows", "datatables"],
                &[("expand", "schema")],
            )
            .await?;
        Ok(list
            .into_iter()
            .map(|t| DataTableInfo {
                name: t.name,
                columns: t
                    .schema
                    .unwrap_or_default()
                    .properties
                    .into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| k != "key")
                    .collect(),
            })
            .collect())
    }

    /// The names of every object of a listing (`endpoint`, at `path`), all pages.
    async fn names(
        &self,
        endpoint: &'static str,
        path: &[&str],
    ) -> Result<Vec<String>, GenesysError> {
        let l: Vec<Named> = self.list_all(endpoint, path, &[]).await?;
        Ok(l.into_iter().map(|n| n.name).collect())
    }

    /// Names of every schedule group (`GET /api/v2/architect/schedulegroups`).
    pub async fn schedule_group_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/schedulegroups";
        self.names(EP, &["api", "v2", "architect", "schedulegroups"])
            .await
    }

    /// Names of every Architect prompt (`GET /api/v2/architect/prompts`).
    pub async fn prompt_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/prompts";
        self.names(EP, &["api", "v2", "architect", "prompts"]).await
    }

    /// Names of every queue (`GET /api/v2/routing/queues`).
    pub async fn queue_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/routing/queues";
        self.names(EP, &["api", "v2", "routing", "queues"]).await
    }

    /// `GET /api/v2/routing/queues/{id}` → the queue's name; `None` on 404.
    pub async fn queue_name(&self, id: &str) -> Result<Option<String>, GenesysError> {
        const EP: &str = "GET /api/v2/routing/queues/{queueId}";
        let url = self.api_url(&["api", "v2", "routing", "queues", id]);
        match self.call_opt(Method::GET, EP, url).await? {
            None => Ok(None),
            Some(a) => Ok(Some(parse::<QueueResponse>(EP, &a.body)?.name)),
        }
    }
}
