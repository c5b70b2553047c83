/// The dashboard's Mustache templates, compiled in (the binary runs alone). They hold markup and
/// `{{…}}` only: every word is `{{t.key}}` from `DashboardText`, every value escaped by Mustache
/// (`{{{body}}}`, the page's own rendered body, is the one triple).
enum Templates {
    static let layout = """
        <!DOCTYPE html>
        <html lang="{{lang}}">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">{{#refresh}}<meta http-equiv="refresh" content="60; url={{refresh}}">{{/refresh}}
        <title>{{title}} · {{t.app_name}}</title>
        <link rel="stylesheet" href="/ui/static/dashboard.css"></head>
        <body>
        <header><strong class="app">{{t.app_name}}</strong>
        {{#signedIn}}<nav><a href="/ui/" id="nav-campaign">{{t.nav_campaign}}</a> <a href="/ui/datasets" id="nav-datasets">{{t.nav_datasets}}</a> \
        <a href="/ui/keys" id="nav-keys">{{t.nav_keys}}</a> <a href="/ui/log" id="nav-log">{{t.nav_log}}</a></nav>
        <div class="actions"><form method="post" action="/ui/lang"><input type="hidden" name="csrf" value="{{csrf}}">\
        <input type="hidden" name="lang" value="{{otherLang}}"><input type="hidden" name="back" value="{{path}}">\
        <button type="submit" id="lang-switch" class="secondary">{{t.lang_switch}}</button></form>
        <form method="post" action="/ui/signout"><input type="hidden" name="csrf" value="{{csrf}}">\
        <button type="submit" id="sign-out" class="secondary">{{t.sign_out}}</button></form></div>{{/signedIn}}
        {{^signedIn}}<div class="actions"><a id="lang-switch" class="button secondary" href="/ui/signin?lang={{otherLang}}">{{t.lang_switch}}</a></div>{{/signedIn}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let signin = """
        {{#signedOut}}<div class="ok">{{t.signed_out}}</div>{{/signedOut}}
        {{#problem}}<div class="problem" role="alert"><p>{{message}}</p><p class="hint">{{code}}</p></div>{{/problem}}
        <p>{{t.signin_lead}}</p>
        <form method="post" action="/ui/signin" class="signin">
        <input type="hidden" name="lang" value="{{lang}}">
        <label for="token">{{t.signin_token}}</label>
        <input type="password" id="token" name="token" autocomplete="off" required>
        <p><button type="submit" id="signin">{{t.signin_submit}}</button></p>
        </form>
        """

    static let campaign = """
        <p class="hint">{{t.now}} {{now}} · {{t.auto_refresh}}</p>
        <h2>{{t.deadlines}}</h2>
        {{#deadlinesUnset}}<div class="note">{{t.deadlines_unset_note}}</div>{{/deadlinesUnset}}
        <div class="table-wrap"><table class="deadlines">
        {{#deadlines}}<tr class="{{cls}}"><th>{{label}}</th><td>{{at}}</td><td>{{left}}</td></tr>
        {{/deadlines}}</table></div>
        <h2>{{t.units_by_state}}</h2>
        <ul class="counts" id="counts">
        <li><span>{{t.registered}}</span> <strong id="count-registered">{{registered}}</strong></li>
        <li><span>{{t.submitted}}</span> <strong id="count-submitted">{{submitted}}</strong></li>
        {{#states}}<li class="state-{{key}}"><span class="swatch {{key}}"></span><span>{{label}}</span> <strong id="count-{{key}}">{{count}}</strong></li>
        {{/states}}<li class="late"><span>{{t.late}}</span> <strong id="count-late">{{lateCount}}</strong></li>
        </ul>
        <div class="bar" role="img" aria-label="{{t.progress_label}}">{{#segments}}<span class="seg {{key}} w{{width}}"></span>{{/segments}}</div>
        <p><label for="progress">{{t.progress_label}}</label>
        <progress id="progress" value="{{submitted}}" max="{{registered}}"></progress> {{submitted}} / {{registered}}</p>
        <p>{{t.members_imported}}: <strong id="members-imported">{{membersImported}}</strong> \
        ({{unitsWithData}} {{t.members_imported_of}} {{registered}})</p>
        {{#lastDataset}}<p>{{t.last_dataset}}: {{t.col_version}} {{version}} · {{members}} · {{stateLabel}}</p>{{/lastDataset}}
        {{^lastDataset}}<p class="hint">{{t.no_dataset}}</p>{{/lastDataset}}
        <h2>{{t.units_table}}</h2>
        <form method="get" action="/ui/" class="filters">
        <div><label for="q">{{t.filter_name}}</label><input type="text" id="q" name="q" value="{{q}}" maxlength="64"></div>
        <div><label for="state">{{t.filter_state}}</label><select id="state" name="state">\
        {{#stateOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/stateOptions}}</select></div>
        <div><label for="sort">{{t.sort_by}}</label><select id="sort" name="sort">\
        {{#sortOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sortOptions}}</select></div>
        <p><button type="submit" id="apply">{{t.apply}}</button></p>
        </form>
        <div class="table-wrap"><table id="units">
        <thead><tr><th><a href="{{sortUnit}}">{{t.col_unit}}</a></th><th>{{t.col_name}}</th><th><a href="{{sortState}}">{{t.col_state}}</a></th>\
        <th>{{t.col_members}}</th><th><a href="{{sortCompleteness}}">{{t.col_completeness}}</a></th><th>{{t.col_warnings}}</th>\
        <th>{{t.col_late}}</th></tr></thead>
        <tbody>
        {{#units}}<tr class="{{key}}{{#late}} late{{/late}}" data-unit="{{unit}}" data-state="{{key}}">\
        <td><a href="/ui/units/{{unit}}">{{unit}}</a></td><td>{{name}}</td><td><span class="swatch {{key}}"></span>{{stateLabel}}</td>\
        <td class="num">{{members}}</td><td class="num">{{completeness}}</td><td class="num">{{warnings}}</td>\
        <td>{{#late}}<span class="badge late-badge">{{t.unit_late_badge}}</span>{{/late}}</td></tr>
        {{/units}}</tbody></table></div>
        """

    static let unit = """
        <p><a href="/ui/">{{t.back_to_campaign}}</a></p>
        <h2>{{t.registration}}</h2>
        <dl class="facts"><dt>{{t.col_unit}}</dt><dd id="unit-id">{{unit}}</dd><dt>{{t.col_name}}</dt><dd>{{name}}</dd>\
        <dt>{{t.registered_at}}</dt><dd>{{registeredAt}}</dd><dt>{{t.col_state}}</dt><dd id="unit-state">{{stateLabel}}\
        {{#late}} <span class="badge late-badge" id="unit-late">{{t.unit_late_badge}}</span>{{/late}}</dd>\
        <dt>{{t.col_members}}</dt><dd>{{members}}</dd><dt>{{t.col_completeness}}</dt><dd>{{completeness}}</dd></dl>
        <h2>{{t.keys}}</h2>
        <div class="table-wrap"><table><thead><tr><th>{{t.col_key_id}}</th><th>{{t.col_key_state}}</th></tr></thead><tbody>
        {{#keys}}<tr><td class="mono">{{id}}</td><td>{{state}}</td></tr>
        {{/keys}}</tbody></table></div>
        <h2>{{t.packages}}</h2>
        {{^packages}}<p class="hint">{{t.no_packages}}</p>{{/packages}}
        {{#hasPackages}}<div class="table-wrap"><table id="packages"><thead><tr><th>{{t.col_seq}}</th><th>{{t.col_kind}}</th><th>{{t.col_outcome}}</th>\
        <th>{{t.col_code}}</th><th>{{t.col_time}}</th><th>{{t.col_size}}</th></tr></thead><tbody>
        {{#packages}}<tr class="{{status}}"><td class="num">{{seq}}</td><td>{{kind}}</td><td>{{status}}</td><td class="mono">{{code}}</td>\
        <td>{{time}}</td><td class="num">{{size}}</td></tr>
        {{/packages}}</tbody></table></div>{{/hasPackages}}
        <h2>{{t.findings}}</h2>
        {{^findings}}<p class="hint">{{t.no_findings}}</p>{{/findings}}
        {{#hasFindings}}<div class="table-wrap"><table id="findings"><thead><tr><th>{{t.col_rule}}</th><th>{{t.col_count}}</th></tr></thead><tbody>
        {{#findings}}<tr><td class="mono">{{rule}}</td><td class="num">{{count}}</td></tr>
        {{/findings}}</tbody></table></div>{{/hasFindings}}
        <h2>{{t.corrections}}</h2>
        {{^corrections}}<p class="hint">{{t.no_corrections}}</p>{{/corrections}}
        {{#hasCorrections}}<div class="table-wrap"><table><thead><tr><th>{{t.col_seq}}</th><th>{{t.col_applied}}</th><th>{{t.col_refused}}</th></tr></thead>
        <tbody>{{#corrections}}<tr><td class="num">{{seq}}</td><td class="num">{{applied}}</td><td class="num">{{refused}}</td></tr>
        {{/corrections}}</tbody></table></div>{{/hasCorrections}}
        <h2>{{t.tokens}}</h2>
        {{^tokens}}<p class="hint">{{t.no_tokens}}</p>{{/tokens}}
        {{#hasTokens}}<div class="table-wrap"><table><thead><tr><th>{{t.col_token_id}}</th><th>{{t.col_created}}</th><th>{{t.col_revoked}}</th></tr></thead>
        <tbody>{{#tokens}}<tr><td class="mono">{{id}}</td><td>{{created}}</td><td>{{revoked}}</td></tr>
        {{/tokens}}</tbody></table></div>{{/hasTokens}}
        """

    static let datasets = """
        {{^datasets}}<p class="hint">{{t.no_dataset}}</p>{{/datasets}}
        {{#hasDatasets}}<div class="table-wrap"><table id="datasets"><thead><tr><th>{{t.col_version}}</th><th>{{t.col_time}}</th>\
        <th>{{t.col_members}}</th><th>{{t.col_conflicts}}</th><th>{{t.col_withheld}}</th><th>{{t.col_delivery}}</th>\
        <th>{{t.col_attempts}}</th><th>{{t.col_last_error}}</th><th>{{t.col_next_attempt}}</th><th>{{t.col_ack}}</th></tr></thead><tbody>
        {{#datasets}}<tr class="{{state}}"><td class="num">{{version}}</td><td>{{created}}</td><td class="num">{{members}}</td>\
        <td class="num">{{conflicts}}</td><td class="num">{{withheld}}</td><td>{{stateLabel}}</td><td class="num">{{attempts}}</td>\
        <td>{{lastError}}</td><td>{{nextAttempt}}</td><td>{{acknowledged}}</td></tr>
        {{/datasets}}</tbody></table></div>{{/hasDatasets}}
        """

    static let keys = """
        <h2>{{t.warnings}}</h2>
        {{^notices}}<p class="hint">{{t.no_warnings}}</p>{{/notices}}
        {{#notices}}<div class="note soon">{{message}}</div>
        {{/notices}}
        <div class="table-wrap"><table id="keys"><thead><tr><th>{{t.col_role}}</th><th>{{t.col_key_state}}</th><th>{{t.col_fingerprint}}</th>\
        <th>{{t.col_created}}</th><th>{{t.col_until}}</th><th>{{t.col_note}}</th></tr></thead><tbody>
        {{#keys}}<tr class="{{#soon}}soon{{/soon}}"><td>{{role}}</td><td>{{state}}</td><td class="mono">{{id}}</td><td>{{created}}</td>\
        <td>{{until}}{{#soon}} <span class="badge soon-badge">{{t.expiring_soon}}</span>{{/soon}}</td><td>{{note}}</td></tr>
        {{/keys}}</tbody></table></div>
        <h2>{{t.trust_documents}}</h2>
        {{^trust}}<p class="hint">{{t.no_trust}}</p>{{/trust}}
        {{#hasTrust}}<div class="table-wrap"><table id="trust"><thead><tr><th>{{t.col_version}}</th><th>{{t.col_issued}}</th><th>{{t.col_expires}}</th></tr></thead>
        <tbody>{{#trust}}<tr class="{{#soon}}soon{{/soon}}"><td class="num">{{version}}</td><td>{{issued}}</td><td>{{expires}}\
        {{#soon}} <span class="badge soon-badge">{{t.expiring_soon}}</span>{{/soon}}</td></tr>
        {{/trust}}</tbody></table></div>{{/hasTrust}}
        """

    static let log = """
        <dl class="facts"><dt>{{t.log_size}}</dt><dd id="log-size">{{size}}</dd></dl>
        <h2>{{t.last_checkpoint}}</h2>
        {{^checkpoint}}<p class="hint">{{t.no_checkpoint}}</p>{{/checkpoint}}
        {{#checkpoint}}<dl class="facts"><dt>{{t.checkpoint_size}}</dt><dd>{{size}}</dd><dt>{{t.checkpoint_time}}</dt><dd>{{time}}</dd>\
        <dt>{{t.checkpoint_root}}</dt><dd class="mono">{{root}}</dd></dl>{{/checkpoint}}
        <h2>{{t.log_verification}}</h2>
        {{#verified}}<div class="ok" id="log-verified">{{t.log_verified}}</div>{{/verified}}
        {{#problem}}<div class="problem" id="log-problem"><p>{{t.log_not_verified}} {{message}}</p><p class="mono">{{code}}</p></div>{{/problem}}
        <h2>{{t.recent_entries}}</h2>
        <div class="table-wrap"><table id="entries"><thead><tr><th>{{t.col_index}}</th><th>{{t.col_kind}}</th><th>{{t.col_unit}}</th>\
        <th>{{t.col_time}}</th></tr></thead><tbody>
        {{#entries}}<tr><td class="num">{{index}}</td><td>{{kind}}</td><td>{{unit}}</td><td>{{time}}</td></tr>
        {{/entries}}</tbody></table></div>
        """

    static let error = """
        <div class="problem" role="alert"><p>{{message}}</p><p>{{t.what_to_do}} {{remedy}}</p>\
        <details><summary>{{t.technical_detail}} ({{code}})</summary><p>{{detail}}</p></details></div>
        <p><a href="/ui/">{{t.back_to_campaign}}</a></p>
        """

    static let all: [String: String] = [
        "layout": layout, "signin": signin, "campaign": campaign, "unit": unit, "datasets": datasets, "keys": keys, "log": log, "error": error,
    ]
}
