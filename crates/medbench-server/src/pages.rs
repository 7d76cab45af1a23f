//! Server-rendered pages (minijinja). Every page works without JavaScript;
//! only the report page draws charts with script.

use crate::auth::{Auth, Cap, Principal, lookup};
use crate::board::{self, BoardQuery};
use crate::error::{AppError, PageResult};
use crate::handlers::{self as h, ItemsQuery, JobRequest, NewToken, NewUser};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use medbench_store::Bank;
use minijinja::{Environment, Value as JValue, context};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

pub const COOKIE: &str = "medbench_token";
type St = State<Arc<AppState>>;
type Au = axum::Extension<Auth>;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("home.html", include_str!("../templates/home.html")),
    (
        "leaderboard.html",
        include_str!("../templates/leaderboard.html"),
    ),
    ("runs.html", include_str!("../templates/runs.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("rounds.html", include_str!("../templates/rounds.html")),
    ("submit.html", include_str!("../templates/submit.html")),
    (
        "submitted.html",
        include_str!("../templates/submitted.html"),
    ),
    (
        "endpoints.html",
        include_str!("../templates/endpoints.html"),
    ),
    ("job.html", include_str!("../templates/job.html")),
    ("items.html", include_str!("../templates/items.html")),
    ("item.html", include_str!("../templates/item.html")),
    ("taxonomy.html", include_str!("../templates/taxonomy.html")),
    ("admin.html", include_str!("../templates/admin.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut e = Environment::new();
        for (name, src) in TEMPLATES {
            e.add_template(name, src)
                .expect("bundled page templates parse");
        }
        e
    })
}

#[derive(Serialize)]
struct Me {
    name: String,
    role: String,
    submit: bool,
    items: bool,
    publish: bool,
    admin: bool,
}

fn me(p: Option<&Principal>) -> Option<Me> {
    p.map(|p| Me {
        name: p.name.clone(),
        role: p.role.to_string(),
        submit: p.can(Cap::Submit),
        items: p.can(Cap::BrowseItems),
        publish: p.can(Cap::Publish),
        admin: p.can(Cap::ManageUsers),
    })
}

fn page(name: &str, p: Option<&Principal>, ctx: JValue) -> PageResult<Html<String>> {
    let full = context! { me => me(p), ..ctx };
    env()
        .get_template(name)
        .and_then(|t| t.render(full))
        .map(Html)
        .map_err(|e| AppError::internal(format!("page {name}: {e:#}")).into())
}

/// An error as a page (used by [`crate::error::PageError`]).
pub fn error_page(status: StatusCode, message: &str, who: Option<&Principal>) -> String {
    env()
        .get_template("error.html")
        .and_then(|t| t.render(context! { me => me(who), status => status.as_u16(), reason => status.canonical_reason(), message }))
        .unwrap_or_else(|_| format!("{status}: {message}"))
}

pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../templates/style.css"),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

pub async fn login_form(auth: Au) -> PageResult<Html<String>> {
    page(
        "login.html",
        auth.0.0.as_ref(),
        context! { error => JValue::UNDEFINED },
    )
}

pub async fn login(State(s): St, Form(f): Form<LoginForm>) -> PageResult<Response> {
    let secret = f.token.trim().to_owned();
    let s2 = secret.clone();
    let p = if secret.is_empty() {
        None
    } else {
        s.db(move |b| lookup(b, &s2)).await?
    };
    match p {
        Some(_) => Ok((
            [(
                header::SET_COOKIE,
                format!("{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000"),
            )],
            Redirect::to("/"),
        )
            .into_response()),
        None => {
            let html = page(
                "login.html",
                None,
                context! { error => "That token is unknown or revoked." },
            )?;
            Ok((StatusCode::UNAUTHORIZED, html).into_response())
        }
    }
}

pub async fn logout() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

pub async fn home(State(s): St, auth: Au) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let (st, p2) = (s.clone(), p.clone());
    let (board, rounds) = s
        .db(move |b| {
            Ok::<_, AppError>((
                board::build(&st, b, &p2, &BoardQuery::default())?,
                h::round_list(b)?,
            ))
        })
        .await?;
    page(
        "home.html",
        Some(&p),
        context! { board, current => rounds.first().map(|r| r.name.clone()) },
    )
}

pub async fn leaderboard(
    State(s): St,
    auth: Au,
    Query(q): Query<BoardQuery>,
) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let (st, p2) = (s.clone(), p.clone());
    let q2 = BoardQuery {
        round: q.round.clone(),
        track: q.track.clone().filter(|x| !x.is_empty()),
        dimension: q.dimension.clone().filter(|x| !x.is_empty()),
    };
    let board = s.db(move |b| board::build(&st, b, &p2, &q2)).await?;
    page("leaderboard.html", Some(&p), context! { board })
}

pub async fn runs(State(s): St, auth: Au) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let p2 = p.clone();
    let (runs, rounds) = s
        .db(move |b| Ok::<_, AppError>((h::visible_runs(b, &p2)?, h::round_list(b)?)))
        .await?;
    let names: std::collections::BTreeMap<String, String> =
        rounds.into_iter().map(|r| (r.id, r.name)).collect();
    page("runs.html", Some(&p), context! { runs, names })
}

pub async fn run(State(s): St, auth: Au, Path(id): Path<String>) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let (row, c) = h::visible_run(&s, &p, &id).await?;
    page(
        "run.html",
        Some(&p),
        context! { run => row, r => JValue::from_serialize(&*c.results) },
    )
}

pub async fn report(State(s): St, auth: Au, Path(id): Path<String>) -> PageResult<Response> {
    let (_, c) = h::visible_run(&s, auth.principal()?, &id).await?;
    Ok(h::report_response(c).await?)
}

#[derive(Deserialize)]
pub struct PublishForm {
    published: String,
}

pub async fn publish(
    State(s): St,
    Path(id): Path<String>,
    Form(f): Form<PublishForm>,
) -> PageResult<Redirect> {
    h::set_published(&s, id.clone(), f.published == "true").await?;
    Ok(Redirect::to(&format!("/runs/{id}")))
}

#[derive(Serialize)]
struct RoundFiles {
    id: String,
    name: String,
    created_at: String,
    instances: usize,
    files: Vec<(String, usize)>,
}

pub async fn rounds(State(s): St, auth: Au) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let list = s.db(|b| h::round_list(b)).await?;
    let mut out = Vec::new();
    for (i, r) in list.into_iter().enumerate() {
        // Downloads are built for the three newest rounds; older ones on request.
        let files = if i < 3 {
            let (_, f) = h::round_export(&s, &r.id).await?;
            f.iter().map(|(n, b)| (n.clone(), b.len())).collect()
        } else {
            Vec::new()
        };
        out.push(RoundFiles {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            instances: r.instances,
            files,
        });
    }
    page("rounds.html", Some(&p), context! { rounds => out })
}

pub async fn submit_form(State(s): St, auth: Au) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let rounds = s.db(|b| h::round_list(b)).await?;
    page(
        "submit.html",
        Some(&p),
        context! { rounds, error => JValue::UNDEFINED },
    )
}

pub async fn submit(State(s): St, auth: Au, mut form: Multipart) -> PageResult<Response> {
    let p = auth.principal()?.clone();
    let (mut round, mut model, mut files) = (None, String::new(), Vec::new());
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::bad_request(format!("upload: {e}")))?
    {
        match field.name().unwrap_or("") {
            "round" => {
                round = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| AppError::bad_request(format!("round: {e}")))?,
                )
            }
            "model" => {
                model = field
                    .text()
                    .await
                    .map_err(|e| AppError::bad_request(format!("model: {e}")))?
            }
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| AppError::bad_request(format!("file: {e}")))?;
                files.push((name, bytes));
            }
            _ => {}
        }
    }
    let typed = model.clone();
    match h::submit_bytes(&s, &p, round, model, files).await {
        Ok(out) => Ok(page("submitted.html", Some(&p), context! { out })?.into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::NOT_FOUND => {
            let rounds = s.db(|b| h::round_list(b)).await?;
            let html = page(
                "submit.html",
                Some(&p),
                context! { rounds, error => e.message, model => typed },
            )?;
            Ok((StatusCode::BAD_REQUEST, html).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn endpoints(State(s): St, auth: Au) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let only = (!p.can(Cap::ReadAllRuns)).then_some(p.user_id);
    let (jobs, rounds) = s
        .db(move |b| Ok::<_, AppError>((b.jobs(only)?, h::round_list(b)?)))
        .await?;
    let jobs: Vec<_> = jobs.iter().map(h::job_view).collect();
    page(
        "endpoints.html",
        Some(&p),
        context! { jobs, rounds, error => JValue::UNDEFINED },
    )
}

#[derive(Deserialize)]
pub struct EndpointForm {
    base_url: String,
    model: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    round: String,
}

pub async fn register(State(s): St, auth: Au, Form(f): Form<EndpointForm>) -> PageResult<Response> {
    let p = auth.principal()?.clone();
    // Shown again if the form is refused (never the key).
    let typed = (f.base_url.clone(), f.model.clone(), f.provider.clone());
    let req = JobRequest {
        base_url: f.base_url,
        model: f.model,
        provider: Some(f.provider),
        api_key: Some(f.api_key),
        round: Some(f.round),
        concurrency: None,
        max_tokens: None,
        temperature: None,
    };
    match h::queue_job(&s, &p, req).await {
        Ok(j) => Ok(Redirect::to(&format!("/jobs/{}", j.id)).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::NOT_FOUND => {
            let only = (!p.can(Cap::ReadAllRuns)).then_some(p.user_id);
            let (jobs, rounds) = s
                .db(move |b| Ok::<_, AppError>((b.jobs(only)?, h::round_list(b)?)))
                .await?;
            let jobs: Vec<_> = jobs.iter().map(h::job_view).collect();
            let html = page(
                "endpoints.html",
                Some(&p),
                context! { jobs, rounds, error => e.message, form => typed },
            )?;
            Ok((StatusCode::BAD_REQUEST, html).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn job(State(s): St, auth: Au, Path(id): Path<i64>) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let j = h::job_for(&s, &p, id).await?;
    page("job.html", Some(&p), context! { job => h::job_view(&j) })
}

pub async fn items(
    State(s): St,
    auth: Au,
    Query(q): Query<ItemsQuery>,
) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let f = h::item_filter(&q)?;
    let (limit, offset) = (q.limit.unwrap_or(50).min(500), q.offset.unwrap_or(0));
    let (rows, stats) = s
        .db(move |b| Ok::<_, AppError>((b.list(&f, limit, offset)?, b.stats(&Default::default())?)))
        .await?;
    let tasks: Vec<String> = stats.tasks.keys().cloned().collect();
    page(
        "items.html",
        Some(&p),
        context! { rows, tasks, task => q.task, track => q.track, limit, offset, next => offset + limit },
    )
}

pub async fn item(State(s): St, auth: Au, Path(id): Path<String>) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let id2 = id.clone();
    let it = s
        .db(move |b| b.get(&id2))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no item `{id}`")))?;
    let body = serde_json::to_string_pretty(&it).map_err(AppError::internal)?;
    let reference = it
        .reference
        .as_ref()
        .map(serde_json::to_string_pretty)
        .transpose()
        .map_err(AppError::internal)?;
    let v = serde_json::to_value(&it).map_err(AppError::internal)?;
    page(
        "item.html",
        Some(&p),
        context! { id, body, reference, it => JValue::from_serialize(&v) },
    )
}

pub async fn taxonomy(auth: Au) -> PageResult<Html<String>> {
    let t = medbench_core::Taxonomy::builtin();
    let rows: Vec<_> = t
        .all()
        .iter()
        .map(|s| (s.code.clone(), s.zh.clone(), s.en.clone(), s.is_primary()))
        .collect();
    page("taxonomy.html", auth.0.0.as_ref(), context! { rows })
}

async fn admin_page(
    s: &Arc<AppState>,
    p: &Principal,
    created: Option<(String, String)>,
    error: Option<String>,
) -> PageResult<Html<String>> {
    let (users, tokens) = s
        .db(|b| Ok::<_, AppError>((b.users()?, b.tokens()?)))
        .await?;
    page(
        "admin.html",
        Some(p),
        context! { users, tokens, created, error, roles => crate::auth::ROLES.iter().map(|r| r.as_str()).collect::<Vec<_>>() },
    )
}

pub async fn admin(State(s): St, auth: Au) -> PageResult<Html<String>> {
    admin_page(&s, auth.principal()?, None, None).await
}

pub async fn admin_add_user(
    State(s): St,
    auth: Au,
    Form(u): Form<NewUser>,
) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let err = h::new_user(&s, u).await.err().map(|e| e.message);
    admin_page(&s, &p, None, err).await
}

pub async fn admin_token(
    State(s): St,
    auth: Au,
    Form(t): Form<NewToken>,
) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let user = t.user.clone();
    match h::new_token(&s, t).await {
        Ok((_, secret)) => admin_page(&s, &p, Some((user, secret)), None).await,
        Err(e) => admin_page(&s, &p, None, Some(e.message)).await,
    }
}

pub async fn admin_revoke(State(s): St, auth: Au, Path(id): Path<i64>) -> PageResult<Html<String>> {
    let p = auth.principal()?.clone();
    let err = match s.db(move |b| b.revoke_token(id)).await? {
        true => None,
        false => Some(format!("no token {id}")),
    };
    admin_page(&s, &p, None, err).await
}
