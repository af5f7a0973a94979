//! Every builtin rule against samples written here (not in rules.toml): one that must be
//! reported by exactly that rule, one that must not be.

mod common;

use common::{Rng, fill};
use slipway_secretscan::{BUILTIN_RULES, Scanner};
use std::collections::HashSet;
use std::path::Path;

/// (rule id, positive sample, negative sample). Templates: see `common::fill`.
const SAMPLES: &[(&str, &str, &str)] = &[
    (
        "aws-access-key-id",
        "aws_access_key_id = AKIA{AN:16}",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    ),
    (
        "aws-secret-access-key",
        "aws_secret_access_key = {b64:40}",
        "aws_secret_access_key = {b64:39}",
    ),
    (
        "aws-session-token",
        "aws_session_token = IQoJb3JpZ2luX2Vj{b64:200}",
        "aws_session_token = ${AWS_SESSION_TOKEN}",
    ),
    (
        "aws-mws-key",
        "mws: amzn.mws.{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "mws: amzn.mws.{hex:8}-{hex:4}",
    ),
    (
        "aws-bedrock-api-key",
        "BEDROCK=ABSK{b64:120}",
        "BEDROCK=ABSK{b64:40}",
    ),
    (
        "gcp-service-account-private-key",
        r#"  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE{b64:60}\n{b64:64}\n{b64:64}\n-----END PRIVATE KEY-----\n","#,
        r#"  "private_key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n","#,
    ),
    (
        "gcp-api-key",
        "const key = \"AIza{url:35}\";",
        "const key = \"AIza{url:20}\";",
    ),
    (
        "gcp-oauth-client-secret",
        "client_secret: GOCSPX-{url:28}",
        "client_secret: GOCSPX-{url:10}",
    ),
    (
        "gcp-oauth-access-token",
        "Authorization: ya29.{url:120}",
        "ya29.short",
    ),
    (
        "gcp-oauth-refresh-token",
        "refresh: 1//0{url:90}",
        "path: 1//0abc",
    ),
    (
        "azure-storage-account-key",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={b64:86}==;EndpointSuffix=core.windows.net",
        "AccountKey={b64:40}==",
    ),
    (
        "azure-ad-client-secret",
        "AZURE_CLIENT_SECRET=\"{an:3}8Q~{url:34}\"",
        "AZURE_CLIENT_SECRET=\"{an:3}8Q-{url:34}\"",
    ),
    (
        "azure-devops-pat",
        "ADO_PAT={an:52}AZDO{an:28}",
        "ADO_PAT={an:20}AZDO{an:10}",
    ),
    (
        "azure-sas-token",
        "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig={an:44}%3D",
        "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=<signature>",
    ),
    (
        "azure-app-config-connection-string",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={b64:43}=",
        "SharedAccessKey={b64:20}=",
    ),
    (
        "alibaba-access-key-id",
        "ALIBABA_ACCESS_KEY_ID=LTAI{an:20}",
        "ALIBABA_ACCESS_KEY_ID=LTAI{an:8}",
    ),
    (
        "tencent-cloud-secret-id",
        "secret_id = \"AKID{an:32}\"",
        "secret_id = \"AKID{an:16}\"",
    ),
    (
        "ibm-cloud-api-key",
        "IBM_CLOUD_API_KEY={url:44}",
        "IBM_CLOUD_API_KEY={url:20}",
    ),
    (
        "digitalocean-pat",
        "DIGITALOCEAN_TOKEN=dop_v1_{hex:64}",
        "DIGITALOCEAN_TOKEN=dop_v1_{hex:32}",
    ),
    (
        "digitalocean-oauth-token",
        "token: doo_v1_{hex:64}",
        "token: doo_v1_{hex:63}",
    ),
    (
        "digitalocean-refresh-token",
        "refresh: dor_v1_{hex:64}",
        "refresh: dor_v1_xyz",
    ),
    (
        "heroku-api-key",
        "HEROKU_API_KEY=HRKU-AA{url:58}",
        "HEROKU_API_KEY=HRKU-AA{url:20}",
    ),
    (
        "heroku-api-key-legacy",
        "heroku_api_key: {hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "app_id: {hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    (
        "flyio-access-token",
        "FLY_API_TOKEN=fo1_{url:43}",
        "FLY_API_TOKEN=fo1_{url:10}",
    ),
    (
        "render-api-key",
        "RENDER_API_KEY=rnd_{an:32}",
        "RENDER_API_KEY=rnd_{an:16}",
    ),
    (
        "vercel-access-token",
        "VERCEL_TOKEN=vcp_{an:56}",
        "VERCEL_TOKEN=vcp_{an:20}",
    ),
    (
        "vercel-api-token-legacy",
        "vercel_token = \"{an:24}\"",
        "vercel_project = \"{an:24}\"",
    ),
    (
        "netlify-access-token",
        "NETLIFY_AUTH_TOKEN=nfp_{an:36}",
        "NETLIFY_AUTH_TOKEN=nfp_{an:12}",
    ),
    (
        "supabase-access-token",
        "SUPABASE_ACCESS_TOKEN=sbp_{hex:40}",
        "SUPABASE_ACCESS_TOKEN=sbp_{hex:20}",
    ),
    (
        "supabase-secret-key",
        "SUPABASE_SECRET=sb_secret_{url:40}",
        "SUPABASE_PUBLISHABLE=sb_publishable_{url:40}",
    ),
    (
        "cloudflare-api-token",
        "CLOUDFLARE_API_TOKEN={url:40}",
        "CLOUDFLARE_ZONE=example.com",
    ),
    (
        "cloudflare-global-api-key",
        "cloudflare_api_key = \"{hex:37}\"",
        "cloudflare_api_key = \"{hex:32}\"",
    ),
    (
        "cloudflare-origin-ca-key",
        "origin_ca_key = v1.0-{hex:24}-{hex:146}",
        "origin_ca_key = v1.0-{hex:24}-{hex:20}",
    ),
    (
        "databricks-api-token",
        "DATABRICKS_TOKEN=dapi{hex:32}",
        "DATABRICKS_TOKEN=dapi{hex:16}",
    ),
    (
        "planetscale-password",
        "password: pscale_pw_{url:43}",
        "password: pscale_pw_{url:10}",
    ),
    (
        "planetscale-api-token",
        "token: pscale_tkn_{url:43}",
        "token: pscale_tkn_{url:10}",
    ),
    (
        "planetscale-oauth-token",
        "token: pscale_oauth_{url:43}",
        "token: pscale_oauth_{url:10}",
    ),
    (
        "hashicorp-vault-service-token",
        "VAULT_TOKEN=hvs.{url:95}",
        "VAULT_TOKEN=hvs.{url:10}",
    ),
    (
        "hashicorp-vault-batch-token",
        "VAULT_TOKEN=hvb.{url:140}",
        "VAULT_TOKEN=hvb.{url:40}",
    ),
    (
        "hashicorp-terraform-cloud-token",
        "token = \"{an:14}.atlasv1.{url:67}\"",
        "token = \"{an:14}.atlasv1.{url:20}\"",
    ),
    (
        "pulumi-api-token",
        "PULUMI_ACCESS_TOKEN=pul-{hex:40}",
        "PULUMI_ACCESS_TOKEN=pul-{hex:20}",
    ),
    (
        "doppler-token",
        "DOPPLER_TOKEN=dp.st.{an:43}",
        "DOPPLER_TOKEN=dp.st.{an:12}",
    ),
    (
        "scalingo-api-token",
        "SCALINGO_API_TOKEN=tk-us-{url:48}",
        "SCALINGO_API_TOKEN=tk-us-{url:12}",
    ),
    (
        "openshift-user-token",
        "oc login --token=sha256~{url:43}",
        "oc login --token=sha256~{url:12}",
    ),
    (
        "kubeconfig-client-key-data",
        "    client-key-data: {b64:200}",
        "    client-key-data: REDACTED",
    ),
    (
        "yandex-cloud-api-key",
        "YC_API_KEY=AQVN{url:36}",
        "YC_API_KEY=AQVN{url:12}",
    ),
    (
        "yandex-cloud-iam-token",
        "YC_IAM_TOKEN=t1.{url:60}.{url:86}",
        "YC_IAM_TOKEN=t1.{url:60}.{url:20}",
    ),
    (
        "github-pat",
        "GITHUB_TOKEN=ghp_{gh}",
        "GITHUB_TOKEN=ghp_{gh-bad}",
    ),
    (
        "github-fine-grained-pat",
        "token: github_pat_{an:22}_{an:59}",
        "token: github_pat_{an:22}_{an:20}",
    ),
    (
        "github-oauth-token",
        "oauth = \"gho_{gh}\"",
        "oauth = \"gho_{gh-bad}\"",
    ),
    (
        "github-app-token",
        "installation: ghs_{gh}",
        "installation: ghs_{gh-bad}",
    ),
    (
        "github-refresh-token",
        "refresh_token=ghr_{gh}",
        "refresh_token=ghr_{gh-bad}",
    ),
    (
        "gitlab-pat",
        "GITLAB_TOKEN=glpat-{url:20}",
        "GITLAB_TOKEN=glpat-{url:12}",
    ),
    (
        "gitlab-pipeline-trigger-token",
        "TRIGGER=glptt-{hex:40}",
        "TRIGGER=glptt-{hex:20}",
    ),
    (
        "gitlab-runner-token",
        "token = \"glrt-{url:20}\"",
        "token = \"glrt-{url:8}\"",
    ),
    (
        "gitlab-runner-registration-token",
        "registration-token: GR1348941{url:20}",
        "registration-token: GR1348941{url:8}",
    ),
    (
        "gitlab-deploy-token",
        "password: gldt-{url:20}",
        "password: gldt-{url:8}",
    ),
    (
        "gitlab-feed-token",
        "feed: glft-{url:20}",
        "feed: glft-{url:8}",
    ),
    (
        "gitlab-oauth-app-secret",
        "secret: gloas-{url:64}",
        "secret: gloas-{url:30}",
    ),
    (
        "gitlab-cicd-job-token",
        "CI_JOB_TOKEN=glcbt-{an:2}_{url:20}",
        "CI_JOB_TOKEN=glcbt-{an:2}_{url:8}",
    ),
    (
        "gitlab-incoming-mail-token",
        "incoming: glimt-{url:25}",
        "incoming: glimt-{url:10}",
    ),
    (
        "gitlab-kubernetes-agent-token",
        "agent: glagent-{url:50}",
        "agent: glagent-{url:20}",
    ),
    (
        "gitlab-scim-token",
        "scim: glsoat-{url:20}",
        "scim: glsoat-{url:8}",
    ),
    (
        "bitbucket-app-password",
        "BITBUCKET_APP_PASSWORD=ATBB{an:32}",
        "BITBUCKET_APP_PASSWORD=ATBB{an:10}",
    ),
    (
        "bitbucket-client-secret",
        "bitbucket_client_secret = \"{url:32}\"",
        "bitbucket_workspace = \"{url:32}\"",
    ),
    (
        "atlassian-api-token",
        "JIRA_API_TOKEN=ATATT3{url:186}",
        "JIRA_API_TOKEN=ATATT3{url:40}",
    ),
    (
        "atlassian-api-token-legacy",
        "confluence_token: {an:24}",
        "confluence_space: {an:24}",
    ),
    (
        "sourcegraph-access-token",
        "SRC_ACCESS_TOKEN=sgp_{hex:16}_{hex:40}",
        "SRC_ACCESS_TOKEN=sgp_{hex:20}",
    ),
    (
        "circleci-personal-token",
        "CIRCLE_TOKEN=CCIPAT_{an:22}_{hex:40}",
        "CIRCLE_TOKEN=CCIPAT_{an:22}_{hex:10}",
    ),
    (
        "buildkite-api-token",
        "BUILDKITE_API_TOKEN=bkua_{hex:40}",
        "BUILDKITE_API_TOKEN=bkua_{hex:20}",
    ),
    (
        "sonarqube-token",
        "SONAR_TOKEN=squ_{hex:40}",
        "SONAR_TOKEN=squ_{hex:20}",
    ),
    (
        "travis-ci-token",
        "travis_token: {url:22}",
        "travis_dist: {url:22}",
    ),
    (
        "codecov-access-token",
        "CODECOV_TOKEN={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "CODECOV_FLAGS={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    (
        "harness-api-key",
        "HARNESS_API_KEY=pat.{url:22}.{hex:24}.{an:20}",
        "HARNESS_API_KEY=pat.{url:22}.{hex:24}",
    ),
    (
        "octopus-deploy-api-key",
        "OCTOPUS_API_KEY=API-{AN:26}",
        "OCTOPUS_API_KEY=API-{AN:10}",
    ),
    (
        "jfrog-api-key",
        "ARTIFACTORY_API_KEY=AKCp{an:69}",
        "ARTIFACTORY_API_KEY=AKCp{an:20}",
    ),
    (
        "jfrog-reference-token",
        "JFROG_TOKEN=cmVmdGtu{an:56}",
        "JFROG_TOKEN=cmVmdGtu{an:20}",
    ),
    (
        "npm-access-token",
        "NPM_TOKEN=npm_{gh}",
        "NPM_TOKEN=npm_{gh-bad}",
    ),
    (
        "npmrc-auth-token",
        "//registry.npmjs.org/:_authToken={url:40}",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    ),
    (
        "pypi-upload-token",
        "password = pypi-AgEIcHlwaS5vcmc{url:70}",
        "password = pypi-AgEIcHlwaS5vcmc{url:10}",
    ),
    (
        "rubygems-api-token",
        "GEM_HOST_API_KEY=rubygems_{hex:48}",
        "GEM_HOST_API_KEY=rubygems_{hex:20}",
    ),
    (
        "dockerhub-pat",
        "DOCKERHUB_TOKEN=dckr_pat_{url:27}",
        "DOCKERHUB_TOKEN=dckr_pat_{url:10}",
    ),
    (
        "docker-config-auth",
        "      \"auth\": \"{b64:40}=\"",
        "      \"auth\": \"\"",
    ),
    (
        "clojars-api-token",
        "CLOJARS_TOKEN=CLOJARS_{lo:60}",
        "CLOJARS_TOKEN=CLOJARS_{lo:20}",
    ),
    (
        "nuget-api-key",
        "NUGET_API_KEY=oy2{lo:43}",
        "NUGET_API_KEY=oy2{lo:20}",
    ),
    (
        "age-secret-key",
        "AGE-SECRET-KEY-1{bech:58}",
        "AGE-SECRET-KEY-1{bech:20}",
    ),
    (
        "prefect-api-key",
        "PREFECT_API_KEY=pnu_{an:36}",
        "PREFECT_API_KEY=pnu_{an:12}",
    ),
    (
        "readme-api-token",
        "README_API_KEY=rdme_{lo:70}",
        "README_API_KEY=rdme_{lo:20}",
    ),
    (
        "infracost-api-token",
        "INFRACOST_API_KEY=ico-{an:32}",
        "INFRACOST_API_KEY=ico-{an:12}",
    ),
    (
        "slack-bot-token",
        "SLACK_BOT_TOKEN=xoxb-{d:11}-{d:13}-{an:24}",
        "SLACK_BOT_TOKEN=xoxb-your-token",
    ),
    (
        "slack-user-token",
        "SLACK_USER_TOKEN=xoxp-{d:11}-{d:11}-{d:12}-{an:32}",
        "SLACK_USER_TOKEN=xoxp-{d:11}-{an:10}",
    ),
    (
        "slack-app-token",
        "SLACK_APP_TOKEN=xapp-1-A{AN:10}-{d:13}-{hex:64}",
        "SLACK_APP_TOKEN=xapp-your-app-token",
    ),
    (
        "slack-config-token",
        "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-{AN:150}",
        "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-{AN:20}",
    ),
    (
        "slack-webhook-url",
        "SLACK_WEBHOOK=https://hooks.slack.com/services/T{AN:10}/B{AN:10}/{an:24}",
        "SLACK_WEBHOOK=https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "discord-bot-token",
        "DISCORD_BOT_TOKEN=\"M{url:25}.{url:6}.{url:38}\"",
        "BOT_TOKEN=\"M{url:25}.{url:6}.{url:38}\"",
    ),
    (
        "discord-webhook-url",
        "hook = \"https://discord.com/api/webhooks/{d:18}/{url:68}\"",
        "hook = \"https://discord.com/api/webhooks/{d:18}/<token>\"",
    ),
    (
        "discord-client-secret",
        "DISCORD_CLIENT_SECRET={url:32}",
        "DISCORD_CLIENT_ID={d:18}",
    ),
    (
        "telegram-bot-token",
        "TELEGRAM_BOT_TOKEN={d:10}:AA{url:33}",
        "TELEGRAM_BOT_TOKEN={d:10}:AA{url:10}",
    ),
    (
        "microsoft-teams-webhook-url",
        "url: https://acme.webhook.office.com/webhookb2/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}@{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}/IncomingWebhook/{hex:32}/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "url: https://acme.webhook.office.com/webhookb2/<id>",
    ),
    (
        "twilio-api-key",
        "TWILIO_API_KEY=SK{hex:32}",
        "TWILIO_API_KEY=SK{hex:16}",
    ),
    (
        "twilio-auth-token",
        "TWILIO_AUTH_TOKEN={hex:32}",
        "TWILIO_ACCOUNT_REGION={hex:32}",
    ),
    (
        "sendgrid-api-key",
        "SENDGRID_API_KEY=SG.{url:22}.{url:43}",
        "SENDGRID_API_KEY=SG.{url:10}.{url:10}",
    ),
    (
        "mailgun-api-key",
        "MAILGUN_API_KEY=key-{hex:32}",
        "MAILGUN_API_KEY=key-{hex:16}",
    ),
    (
        "mailgun-signing-key",
        "mailgun_signing_key = \"{hex:32}-{hex:8}-{hex:8}\"",
        "release_id = \"{hex:32}-{hex:8}-{hex:8}\"",
    ),
    (
        "mailchimp-api-key",
        "MAILCHIMP_API_KEY={hex:32}-us14",
        "MAILCHIMP_API_KEY={hex:16}-us14",
    ),
    (
        "mandrill-api-key",
        "MANDRILL_API_KEY={url:22}",
        "MANDRILL_FROM=noreply",
    ),
    (
        "sendinblue-api-key",
        "BREVO_API_KEY=xkeysib-{hex:64}-{an:16}",
        "BREVO_API_KEY=xkeysib-{hex:20}",
    ),
    (
        "messagebird-api-token",
        "MESSAGEBIRD_API_KEY={an:25}",
        "MESSAGEBIRD_ORIGINATOR=Acme",
    ),
    (
        "intercom-api-token",
        "INTERCOM_ACCESS_TOKEN={url:60}",
        "INTERCOM_APP_ID=abc123",
    ),
    (
        "mattermost-access-token",
        "MATTERMOST_TOKEN={lo:26}",
        "MATTERMOST_URL=https://chat.acme.io",
    ),
    (
        "resend-api-key",
        "RESEND_API_KEY=re_{an:8}_{an:24}",
        "RESEND_API_KEY=re_{an:8}_{an:8}",
    ),
    (
        "postmark-server-token",
        "POSTMARK_SERVER_TOKEN={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "POSTMARK_SERVER_TOKEN={hex:8}-{hex:4}",
    ),
    (
        "stripe-secret-key",
        "STRIPE_SECRET_KEY=sk_live_{an:24}",
        "STRIPE_PUBLISHABLE_KEY=pk_live_{an:24}",
    ),
    (
        "stripe-restricted-key",
        "STRIPE_KEY=rk_live_{an:24}",
        "STRIPE_KEY=rk_live_abc",
    ),
    (
        "stripe-webhook-secret",
        "STRIPE_WEBHOOK_SECRET=whsec_{an:32}",
        "STRIPE_WEBHOOK_SECRET=whsec_{an:8}",
    ),
    (
        "square-access-token",
        "SQUARE_ACCESS_TOKEN=EAAA{url:60}",
        "SQUARE_ACCESS_TOKEN=EAAA{url:8}",
    ),
    (
        "square-oauth-secret",
        "SQUARE_APP_SECRET=sq0csp-{url:43}",
        "SQUARE_APP_SECRET=sq0csp-{url:12}",
    ),
    (
        "shopify-access-token",
        "SHOPIFY_ACCESS_TOKEN=shpat_{hex:32}",
        "SHOPIFY_ACCESS_TOKEN=shpat_{hex:12}",
    ),
    (
        "shopify-custom-app-token",
        "SHOPIFY_TOKEN=shpca_{hex:32}",
        "SHOPIFY_TOKEN=shpca_{hex:12}",
    ),
    (
        "shopify-private-app-token",
        "SHOPIFY_TOKEN=shppa_{hex:32}",
        "SHOPIFY_TOKEN=shppa_{hex:12}",
    ),
    (
        "shopify-shared-secret",
        "SHOPIFY_SECRET=shpss_{hex:32}",
        "SHOPIFY_SECRET=shpss_{hex:12}",
    ),
    (
        "flutterwave-secret-key",
        "FLW_SECRET_KEY=FLWSECK_TEST-{ah:32}-X",
        "FLW_PUBLIC_KEY=FLWPUBK_TEST-{ah:32}-X",
    ),
    (
        "flutterwave-encryption-key",
        "FLW_ENCRYPTION_KEY=FLWSECK_TEST{ah:12}",
        "FLW_ENCRYPTION_KEY=FLWSECK_TEST{ah:4}",
    ),
    (
        "gocardless-api-token",
        "GOCARDLESS_ACCESS_TOKEN=live_{url:40}",
        "GOCARDLESS_ENVIRONMENT=live",
    ),
    (
        "shippo-api-token",
        "SHIPPO_API_KEY=shippo_live_{hex:40}",
        "SHIPPO_API_KEY=shippo_live_{hex:20}",
    ),
    (
        "easypost-api-token",
        "EASYPOST_API_KEY=EZAK{an:54}",
        "EASYPOST_API_KEY=EZAK{an:20}",
    ),
    (
        "duffel-api-token",
        "DUFFEL_ACCESS_TOKEN=duffel_live_{url:43}",
        "DUFFEL_ACCESS_TOKEN=duffel_live_{url:12}",
    ),
    (
        "braintree-access-token",
        "BRAINTREE_TOKEN=access_token$production${lo:16}${hex:32}",
        "BRAINTREE_TOKEN=access_token$production$<merchant>$<token>",
    ),
    ("plaid-secret", "PLAID_SECRET={hex:30}", "PLAID_ENV=sandbox"),
    (
        "coinbase-access-token",
        "COINBASE_ACCESS_TOKEN={url:64}",
        "COINBASE_ENV=prod",
    ),
    (
        "openai-api-key",
        "OPENAI_API_KEY=sk-proj-{url:40}T3BlbkFJ{url:40}",
        "OPENAI_API_KEY=sk-proj-{url:10}T3BlbkFJ",
    ),
    (
        "openai-project-key",
        "OPENAI_API_KEY=sk-proj-{url:120}",
        "OPENAI_API_KEY=sk-proj-{url:12}",
    ),
    (
        "anthropic-api-key",
        "ANTHROPIC_API_KEY=sk-ant-api03-{url:93}AA",
        "ANTHROPIC_API_KEY=sk-ant-api03-{url:12}",
    ),
    (
        "anthropic-admin-key",
        "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{url:93}AA",
        "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{url:12}",
    ),
    (
        "huggingface-access-token",
        "HF_TOKEN=hf_{al:34}",
        "HF_TOKEN=hf_{al:12}",
    ),
    (
        "huggingface-org-token",
        "HF_ORG_TOKEN=api_org_{al:34}",
        "HF_ORG_TOKEN=api_org_{al:12}",
    ),
    (
        "groq-api-key",
        "GROQ_API_KEY=gsk_{an:52}",
        "GROQ_API_KEY=gsk_{an:20}",
    ),
    (
        "replicate-api-token",
        "REPLICATE_API_TOKEN=r8_{an:37}",
        "REPLICATE_API_TOKEN=r8_{an:12}",
    ),
    (
        "perplexity-api-key",
        "PPLX_API_KEY=pplx-{an:48}",
        "PPLX_API_KEY=pplx-{an:12}",
    ),
    (
        "xai-api-key",
        "XAI_API_KEY=xai-{an:80}",
        "XAI_API_KEY=xai-{an:20}",
    ),
    (
        "langsmith-api-key",
        "LANGSMITH_API_KEY=lsv2_pt_{hex:32}_{hex:10}",
        "LANGSMITH_API_KEY=lsv2_pt_{hex:12}",
    ),
    (
        "pinecone-api-key",
        "PINECONE_API_KEY=pcsk_{an:6}_{an:60}",
        "PINECONE_API_KEY=pcsk_{an:12}",
    ),
    (
        "cohere-api-token",
        "COHERE_API_KEY={an:40}",
        "COHERE_MODEL=command-r",
    ),
    (
        "deepseek-api-key",
        "DEEPSEEK_API_KEY=sk-{hex:32}",
        "OTHER_API_KEY=sk-{hex:12}",
    ),
    (
        "datadog-api-key",
        "DD_API_KEY={hex:32}",
        "DD_SITE=datadoghq.eu",
    ),
    (
        "datadog-app-key",
        "DD_APP_KEY={hex:40}",
        "DD_APP_NAME=checkout",
    ),
    (
        "dynatrace-api-token",
        "DT_API_TOKEN=dt0c01.{AN:24}.{AN:64}",
        "DT_API_TOKEN=dt0c01.{AN:24}",
    ),
    (
        "new-relic-user-api-key",
        "NEW_RELIC_API_KEY=NRAK-{AN:27}",
        "NEW_RELIC_API_KEY=NRAK-{AN:12}",
    ),
    (
        "new-relic-insert-key",
        "NEW_RELIC_INSERT_KEY=NRII-{url:32}",
        "NEW_RELIC_INSERT_KEY=NRII-{url:12}",
    ),
    (
        "new-relic-browser-api-token",
        "NEW_RELIC_BROWSER_KEY=NRJS-{hex:19}",
        "NEW_RELIC_BROWSER_KEY=NRJS-{hex:8}",
    ),
    (
        "new-relic-license-key",
        "NEW_RELIC_LICENSE_KEY={hex:36}NRAL",
        "NEW_RELIC_LICENSE_KEY={hex:12}NRAL",
    ),
    (
        "grafana-api-key",
        "GRAFANA_API_KEY=eyJrIjoi{an:80}",
        "GRAFANA_API_KEY=eyJrIjoi{an:20}",
    ),
    (
        "grafana-cloud-api-token",
        "GRAFANA_CLOUD_TOKEN=glc_{b64:80}",
        "GRAFANA_CLOUD_TOKEN=glc_{b64:12}",
    ),
    (
        "grafana-service-account-token",
        "GRAFANA_SA_TOKEN=glsa_{an:32}_{hex:8}",
        "GRAFANA_SA_TOKEN=glsa_{an:12}",
    ),
    (
        "sentry-user-token",
        "SENTRY_AUTH_TOKEN=sntryu_{hex:64}",
        "SENTRY_AUTH_TOKEN=sntryu_{hex:20}",
    ),
    (
        "sentry-org-token",
        "SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiO{b64:100}_{b64:43}",
        "SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiO{b64:10}",
    ),
    (
        "sentry-access-token",
        "sentry_token = \"{hex:64}\"",
        "sentry_dsn_version = \"{hex:64}\"",
    ),
    (
        "sumologic-access-id",
        "SUMO_ACCESS_ID=su{an:12}",
        "SUMO_ACCESS_ID=su{an:4}",
    ),
    (
        "pagerduty-api-key",
        "PAGERDUTY_TOKEN=u+{url:18}",
        "PAGERDUTY_SERVICE=checkout",
    ),
    (
        "okta-api-token",
        "OKTA_API_TOKEN=00{url:40}",
        "OKTA_API_TOKEN=00{url:12}",
    ),
    (
        "launchdarkly-access-token",
        "LD_ACCESS_TOKEN=api-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "LD_ACCESS_TOKEN=api-{hex:8}",
    ),
    (
        "ngrok-auth-token",
        "ngrok config add-authtoken 2{an:26}_{an:21}",
        "ngrok http 8080",
    ),
    (
        "figma-pat",
        "FIGMA_TOKEN=figd_{url:40}",
        "FIGMA_TOKEN=figd_{url:12}",
    ),
    (
        "frameio-api-token",
        "FRAMEIO_TOKEN=fio-u-{url:64}",
        "FRAMEIO_TOKEN=fio-u-{url:12}",
    ),
    (
        "linear-api-key",
        "LINEAR_API_KEY=lin_api_{an:40}",
        "LINEAR_API_KEY=lin_api_{an:12}",
    ),
    (
        "linear-client-secret",
        "LINEAR_CLIENT_SECRET={hex:32}",
        "LINEAR_CLIENT_ID={hex:32}",
    ),
    (
        "notion-api-token",
        "NOTION_TOKEN=ntn_{d:11}{an:35}",
        "NOTION_TOKEN=ntn_{d:11}",
    ),
    (
        "notion-integration-secret",
        "NOTION_TOKEN=secret_{an:43}",
        "NOTION_TOKEN=secret_{an:12}",
    ),
    (
        "airtable-pat",
        "AIRTABLE_TOKEN=pat{an:14}.{hex:64}",
        "AIRTABLE_TOKEN=pat{an:14}.{hex:12}",
    ),
    (
        "asana-pat",
        "ASANA_TOKEN=1/{d:16}:{an:32}",
        "ASANA_WORKSPACE=1/{d:16}",
    ),
    (
        "hubspot-private-app-token",
        "HUBSPOT_TOKEN=pat-na1-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "HUBSPOT_TOKEN=pat-na1-{hex:8}",
    ),
    (
        "hubspot-api-key",
        "HUBSPOT_API_KEY={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "HUBSPOT_PORTAL=12345",
    ),
    (
        "mapbox-secret-token",
        "MAPBOX_SECRET_TOKEN=sk.eyJ1{url:60}.{url:22}",
        "MAPBOX_PUBLIC_TOKEN=pk.eyJ1{url:60}.{url:22}",
    ),
    (
        "postman-api-token",
        "POSTMAN_API_KEY=PMAK-{hex:24}-{hex:34}",
        "POSTMAN_API_KEY=PMAK-{hex:24}",
    ),
    (
        "twitch-api-token",
        "TWITCH_CLIENT_SECRET={lo:30}",
        "TWITCH_CHANNEL=acme",
    ),
    (
        "typeform-api-token",
        "TYPEFORM_TOKEN=tfp_{url:59}",
        "TYPEFORM_TOKEN=tfp_{url:12}",
    ),
    (
        "dropbox-short-lived-token",
        "DROPBOX_TOKEN=sl.{url:140}",
        "DROPBOX_TOKEN=sl.{url:40}",
    ),
    (
        "dropbox-long-lived-token",
        "DROPBOX_TOKEN={an:11}AAAAAAAAAA{url:43}",
        "data:image/png;base64,{b64:40}+{an:11}AAAAAAAAAA{url:43}/{b64:8}",
    ),
    (
        "contentful-delivery-token",
        "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-{url:43}",
        "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-{url:12}",
    ),
    (
        "zendesk-secret-key",
        "ZENDESK_API_TOKEN={an:40}",
        "ZENDESK_SUBDOMAIN=acme",
    ),
    (
        "adobe-client-secret",
        "ADOBE_CLIENT_SECRET=p8e-{an:32}",
        "ADOBE_CLIENT_SECRET=p8e-{an:12}",
    ),
    (
        "algolia-admin-key",
        "ALGOLIA_ADMIN_KEY={hex:32}",
        "ALGOLIA_APP_ID=ABCDEF1234",
    ),
    (
        "facebook-access-token",
        "FB_ACCESS_TOKEN=EAAC{an:160}",
        "FB_ACCESS_TOKEN=EAAC{an:40}",
    ),
    (
        "facebook-app-secret",
        "FACEBOOK_APP_SECRET={hex:32}",
        "FACEBOOK_APP_ID={d:15}",
    ),
    (
        "twitter-bearer-token",
        "TWITTER_BEARER=AAAAAAAAAAAAAAAAAAAAA{an:90}",
        "data:image/png;base64,iVBOR+AAAAAAAAAAAAAAAAAAAAA{an:90}/{b64:20}",
    ),
    (
        "twitter-api-secret",
        "TWITTER_API_SECRET={an:50}",
        "TWITTER_HANDLE=acme",
    ),
    (
        "onepassword-service-account-token",
        "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{b64:300}",
        "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{b64:40}",
    ),
    (
        "onepassword-secret-key",
        "A3-{AN:6}-{AN:6}-{AN:5}-{AN:5}-{AN:5}-{AN:5}",
        "A3-{AN:6}-{AN:6}",
    ),
    (
        "settlemint-token",
        "SETTLEMINT_TOKEN=sm_pat_{an:16}",
        "SETTLEMINT_TOKEN=sm_pat_{an:6}",
    ),
    (
        "private-key",
        "-----BEGIN RSA PRIVATE KEY-----\n{pem}-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "jwt",
        "token: eyJhbGciOiJIUzI1NiJ9.eyJ{url:60}.{url:43}",
        "token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    (
        "database-url-password",
        "DATABASE_URL=postgres://app:{an:20}@db.internal:5432/app",
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/app",
    ),
    (
        "url-basic-auth",
        "git clone https://deploy:{an:20}@git.acme.io/app.git",
        "git clone https://deploy:<password>@git.acme.io/app.git",
    ),
    (
        "authorization-bearer",
        "curl -H \"Authorization: Bearer {url:40}\"",
        "curl -H \"Authorization: Bearer $TOKEN\"",
    ),
    (
        "authorization-basic",
        "headers = {\"Authorization\": \"Basic {b64:28}\"}",
        "headers = {\"Authorization\": \"Basic \" + encoded}",
    ),
    (
        "generic-password",
        "db_password = \"{pw:16}\"",
        "db_password = \"changeme\"",
    ),
    (
        "generic-api-key",
        "api_key: \"{an:32}\"",
        "api_key: \"{{ .Values.apiKey }}\"",
    ),
];

fn scanner() -> Scanner {
    Scanner::builtin()
}

fn sample(id: &str, template: &str, which: &str) -> String {
    let mut rng = Rng::seeded(&format!("{id}/{which}"));
    format!("{}\n", fill(template, &mut rng))
}

#[test]
fn every_rule_regex_compiles_and_ids_are_kebab_case_and_unique() {
    // Full validation: every regex and allowlist regex compiles, ids are unique and
    // kebab-case, keywords lowercase and non-empty.
    let validated = Scanner::from_rules_toml(Path::new("rules.toml"), BUILTIN_RULES);
    assert!(validated.is_ok(), "{:?}", validated.err());
    let scanner = scanner();
    let mut seen = HashSet::new();
    for rule in scanner.rules() {
        assert!(seen.insert(rule.id.as_str()), "duplicate id {}", rule.id);
        assert!(
            rule.id.split('-').all(|w| !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
            "{} is not kebab-case",
            rule.id
        );
        assert!(!rule.keywords.is_empty(), "{} has no keywords", rule.id);
        assert!(
            !rule.description.is_empty(),
            "{} has no description",
            rule.id
        );
    }
    assert!(
        scanner.rules().len() >= 100,
        "{} rules",
        scanner.rules().len()
    );
}

#[test]
fn every_rule_has_samples_and_every_sample_names_a_rule() {
    let scanner = scanner();
    let known: HashSet<&str> = scanner.rules().iter().map(|r| r.id.as_str()).collect();
    let sampled: HashSet<&str> = SAMPLES.iter().map(|(id, _, _)| *id).collect();
    let missing: Vec<&&str> = known.difference(&sampled).collect();
    let unknown: Vec<&&str> = sampled.difference(&known).collect();
    assert!(missing.is_empty(), "rules without samples: {missing:?}");
    assert!(unknown.is_empty(), "samples for unknown rules: {unknown:?}");
    assert_eq!(sampled.len(), SAMPLES.len(), "a rule is sampled twice");
}

#[test]
fn positive_samples_are_found_by_their_rule() {
    let scanner = scanner();
    let mut failures = Vec::new();
    for (id, positive, _) in SAMPLES {
        let text = sample(id, positive, "positive");
        let findings = scanner.scan_bytes("sample.txt", text.as_bytes());
        if !findings.iter().any(|f| f.rule == *id) {
            let got: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
            failures.push(format!("{id}: found {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "positive samples missed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn negative_samples_are_not_found_by_their_rule() {
    let scanner = scanner();
    let mut failures = Vec::new();
    for (id, _, negative) in SAMPLES {
        let text = sample(id, negative, "negative");
        let findings = scanner.scan_bytes("sample.txt", text.as_bytes());
        if findings.iter().any(|f| f.rule == *id) {
            failures.push((*id).to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "negative samples reported: {failures:?}"
    );
}

#[test]
fn every_positive_sample_contains_a_keyword_of_its_rule() {
    let scanner = scanner();
    for (id, positive, _) in SAMPLES {
        let Some(rule) = scanner.rules().iter().find(|r| r.id == *id) else {
            continue;
        };
        let text = sample(id, positive, "positive").to_ascii_lowercase();
        assert!(
            rule.keywords.iter().any(|k| text.contains(k.as_str())),
            "{id}: no keyword of {:?} in its positive sample",
            rule.keywords
        );
    }
}

#[test]
fn excerpts_never_hold_more_than_four_characters_of_the_secret() {
    let scanner = scanner();
    for (id, positive, _) in SAMPLES {
        let text = sample(id, positive, "positive");
        for finding in scanner.scan_bytes("sample.txt", text.as_bytes()) {
            // The secret is somewhere on the sample's lines; its first 12 characters
            // must not survive into the excerpt.
            let line = text
                .lines()
                .nth(finding.line as usize - 1)
                .unwrap_or_default();
            let start = line
                .char_indices()
                .nth(finding.column as usize - 1)
                .map_or(0, |(i, _)| i);
            let secret_head: String = line[start..].chars().take(12).collect();
            if secret_head.chars().count() >= 12 {
                assert!(
                    !finding.excerpt.contains(secret_head.as_str()),
                    "{id}: excerpt {:?} shows the secret",
                    finding.excerpt
                );
            }
        }
    }
}
