// @generated automatically by Diesel CLI.

diesel::table! {
    alerts (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        stage -> Text,
        state -> Text,
        episode -> Text,
        raised_at -> Timestamp,
        acknowledged_by -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        shelter_id -> Text,
        label -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_events (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Nullable<Text>,
        from_stage -> Nullable<Text>,
        to_stage -> Nullable<Text>,
        shelter_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        code -> Text,
        stage -> Text,
        outcome -> Nullable<Text>,
        risk_level -> Text,
        household_size -> Integer,
        needs -> Text,
        origin_region -> Nullable<Text>,
        destination_country -> Nullable<Text>,
        shelter_id -> Nullable<Text>,
        assigned_to -> Nullable<Text>,
        stage_entered_at -> Timestamp,
        last_contact_at -> Nullable<Timestamp>,
        snoozed_until -> Nullable<Timestamp>,
        stall_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    digest_runs (week) {
        week -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        account_key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        dead_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        refresh_hash -> Text,
        created_at -> Timestamp,
        refreshed_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    shelters (id) {
        id -> Text,
        name -> Text,
        city -> Nullable<Text>,
        country -> Text,
        capacity -> Integer,
        contact_email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(alerts -> cases (case_id));
diesel::joinable!(alerts -> users (acknowledged_by));
diesel::joinable!(api_keys -> shelters (shelter_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(cases -> shelters (shelter_id));
diesel::joinable!(cases -> users (assigned_to));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    alerts,
    api_keys,
    case_events,
    cases,
    digest_runs,
    login_failures,
    outbox,
    sessions,
    shelters,
    users,
);
