//! Writes carried out under a client's `Idempotency-Key` (issue 16), kept with their effect.

use crate::common::*;
use crate::sql::{Row, SqlConn};
use jiff::Timestamp;
use shebao_service::model::RequestKeyRecord;
use shebao_service::store::*;

fn record_from(row: &Row) -> Result<RequestKeyRecord, StoreError> {
    Ok(RequestKeyRecord {
        actor_id: row.text(0)?,
        key: row.text(1)?,
        fingerprint: row.text(2)?,
        resource: row.text(3)?,
        created_at: row.time(4)?,
    })
}

impl<C: SqlConn> RequestKeys for SqlTx<'_, C> {
    fn request_key(
        &mut self,
        actor_id: &str,
        key: &str,
    ) -> Result<Option<RequestKeyRecord>, StoreError> {
        one(
            self.0.query(
                "SELECT actor_id, request_key, fingerprint, resource, created_at \
                 FROM request_keys WHERE actor_id = $1 AND request_key = $2",
                &[actor_id.into(), key.into()],
            )?,
            record_from,
        )
    }

    fn insert_request_key(&mut self, record: &RequestKeyRecord) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO request_keys (actor_id, request_key, fingerprint, resource, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                record.actor_id.as_str().into(),
                record.key.as_str().into(),
                record.fingerprint.as_str().into(),
                record.resource.as_str().into(),
                record.created_at.into(),
            ],
        )?;
        Ok(())
    }

    fn forget_request_keys(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        self.0.exec(
            "DELETE FROM request_keys WHERE created_at < $1",
            &[before.into()],
        )
    }
}
