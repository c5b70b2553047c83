/// The dashboard's one style sheet, served as /ui/static/dashboard.css (the CSP allows no inline
/// style): compiled in. The stacked bar's widths are classes (`w0` … `w100`), not style attributes.
enum Assets {
    static let css: String = {
        let base = """
            :root { --ink: #1b1f24; --muted: #59636e; --line: #d0d7de; --bad: #b42318; --good: #067647; --warn: #9a6700;
                --accent: #0b57d0; --review: #6941c6; --missing: #98a2b3; }
            * { box-sizing: border-box; }
            body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink); margin: 0; line-height: 1.45; font-size: 16px; }
            header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #f3f6fa;
                border-bottom: 1px solid var(--line); }
            header .app { font-size: 1.1rem; }
            header nav { display: flex; flex-wrap: wrap; gap: .75rem; }
            header nav a { color: var(--accent); text-decoration: none; }
            header .actions { margin-left: auto; display: flex; gap: .5rem; flex-wrap: wrap; }
            header .actions form { margin: 0; }
            main { padding: 1rem; max-width: 80rem; }
            h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
            h2 { font-size: 1.15rem; margin-top: 1.5rem; }
            a { color: var(--accent); }
            button, .button { font: inherit; padding: .4rem .9rem; border: 1px solid var(--accent); background: var(--accent); color: #fff;
                border-radius: 4px; cursor: pointer; text-decoration: none; display: inline-block; }
            button.secondary, .button.secondary { background: #fff; color: var(--accent); padding: .25rem .6rem; }
            label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
            input[type=text], input[type=password], select { font: inherit; width: 100%; max-width: 32rem; padding: .4rem;
                border: 1px solid var(--line); border-radius: 4px; }
            form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0 1rem; align-items: end; }
            form.filters p { margin: .4rem 0; }
            .hint { color: var(--muted); font-size: .92rem; }
            .problem { border: 1px solid var(--bad); border-left: 6px solid var(--bad); background: #fef3f2; padding: .5rem 1rem; margin: 1rem 0; }
            .ok { border: 1px solid var(--good); border-left: 6px solid var(--good); background: #ecfdf3; padding: .5rem 1rem; margin: 1rem 0; }
            .note { border: 1px solid var(--warn); border-left: 6px solid var(--warn); background: #fffaeb; padding: .5rem 1rem; margin: .5rem 0; }
            .counts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
            .counts li strong { font-size: 1.25rem; margin-left: .2rem; }
            .counts li.late strong { color: var(--bad); }
            .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: middle; }
            .accepted_clean { --c: var(--good); } .accepted_with_warnings { --c: var(--warn); } .flagged { --c: var(--review); }
            .review_rejected { --c: #c11574; } .rejected { --c: var(--bad); } .missing { --c: var(--missing); }
            .swatch, .seg { background: var(--c, var(--missing)); }
            .bar { display: flex; width: 100%; max-width: 48rem; height: 1.1rem; border: 1px solid var(--line); border-radius: 3px;
                overflow: hidden; margin: .6rem 0; background: #fff; }
            .seg { height: 100%; }
            progress { width: 100%; max-width: 32rem; height: 1.1rem; vertical-align: middle; }
            .table-wrap { overflow-x: auto; }
            table { border-collapse: collapse; width: 100%; font-size: .92rem; }
            th, td { border: 1px solid var(--line); padding: .3rem .45rem; text-align: left; vertical-align: top; }
            th { background: #f3f6fa; }
            th a { color: inherit; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .mono { font-family: "DejaVu Sans Mono", monospace; font-size: .85rem; word-break: break-all; }
            tr.late td { background: #fef3f2; }
            .badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-size: .8rem; font-weight: 700; color: #fff; }
            .late-badge { background: var(--bad); }
            .soon-badge { background: var(--warn); }
            tr.soon td { background: #fffaeb; }
            table.deadlines th { width: 40%; }
            table.deadlines tr.passed td { color: var(--bad); font-weight: 600; }
            table.deadlines tr.soon td { color: var(--warn); font-weight: 600; }
            dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
            dl.facts dt { font-weight: 600; }
            dl.facts dd { margin: 0; }
            @media (max-width: 600px) { main { padding: .6rem; } th, td { padding: .2rem .3rem; } header .actions { margin-left: 0; }
                dl.facts { grid-template-columns: 1fr; gap: .1rem; } dl.facts dd { margin-bottom: .4rem; } body { font-size: 15px; } }
            """
        return base + "\n" + (0...100).map { ".w\($0) { width: \($0)%; }" }.joined(separator: " ") + "\n"
    }()
}
