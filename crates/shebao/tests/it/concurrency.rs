use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(parallel_wrong_passwords_never_exceed_n);

// R-LK-1: 40 parallel wrong tries give at most N `wrong_password` answers; the rest are
// `account_locked`. The same holds for the bank's counter (R-LK-3).
async fn parallel_wrong_passwords_never_exceed_n(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let bank = app.actor("bank").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    app.post(
        &format!("/cards/{card}/activation"),
        &bank,
        json!({"channel": "bank", "fin_password": "642097"}),
    )
    .await;
    for (path, token) in [
        (format!("/cards/{card}/ss-password/verify"), &pharmacy),
        (format!("/cards/{card}/fin-password/verify"), &bank),
    ] {
        let tries = (0..40).map(|_| {
            let (client, url, token) = (
                app.client.clone(),
                format!("{}{path}", app.base),
                token.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"password": "111112"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        });
        let mut wrong = 0;
        let mut locked = 0;
        for t in tries {
            match t.await.unwrap() {
                StatusCode::UNPROCESSABLE_ENTITY => wrong += 1,
                StatusCode::LOCKED => locked += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(wrong, 3, "{path}: exactly N wrong answers");
        assert_eq!(locked, 37);
    }
}
