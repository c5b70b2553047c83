/// The desk's style sheet and its one script, served as /static/desk.css and /static/desk.js (the
/// CSP allows nothing inline): compiled in, so the binary runs alone.
extension HTML {
    static let css = """
        :root { --ink: #1b1f24; --muted: #59636e; --line: #d0d7de; --bad: #b42318; --good: #067647; --warn: #9a6700; --accent: #0b57d0; }
        * { box-sizing: border-box; }
        body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink); margin: 0; line-height: 1.45; font-size: 16px; }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #f3f6fa;
            border-bottom: 1px solid var(--line); }
        header .app { font-size: 1.1rem; }
        header .unit { color: var(--muted); }
        header nav { display: flex; flex-wrap: wrap; gap: .75rem; }
        header nav a { color: var(--accent); text-decoration: none; }
        header form.lang { margin-left: auto; }
        main { padding: 1rem; max-width: 72rem; }
        h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.15rem; margin-top: 1.5rem; }
        button, .button { font: inherit; padding: .45rem .9rem; border: 1px solid var(--accent); background: var(--accent); color: #fff;
            border-radius: 4px; cursor: pointer; text-decoration: none; display: inline-block; }
        button.secondary, .button.secondary { background: #fff; color: var(--accent); }
        form.lang button { background: #fff; color: var(--accent); padding: .25rem .6rem; }
        label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
        input[type=text], input[type=password], input[type=url], select, textarea { font: inherit; width: 100%; max-width: 32rem;
            padding: .4rem; border: 1px solid var(--line); border-radius: 4px; }
        input[type=file] { font: inherit; margin: .3rem 0 .8rem; max-width: 100%; }
        .hint { color: var(--muted); font-size: .92rem; margin: .2rem 0; }
        .problem { border: 1px solid var(--bad); border-left: 6px solid var(--bad); background: #fef3f2; padding: .5rem 1rem; margin: 1rem 0; }
        .ok { border: 1px solid var(--good); border-left: 6px solid var(--good); background: #ecfdf3; padding: .5rem 1rem; margin: 1rem 0; }
        .note { border: 1px solid var(--warn); border-left: 6px solid var(--warn); background: #fffaeb; padding: .5rem 1rem; margin: 1rem 0; }
        .counts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
        .counts li strong { font-size: 1.2rem; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .92rem; }
        th, td { border: 1px solid var(--line); padding: .3rem .45rem; text-align: left; vertical-align: top; }
        th { background: #f3f6fa; }
        tr.error td.sev { color: var(--bad); font-weight: 600; }
        tr.warning td.sev { color: var(--warn); }
        dl.receipt { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; }
        dl.receipt dt { font-weight: 600; }
        dl.receipt dd { margin: 0; word-break: break-all; }
        .sentences li { margin: .3rem 0; }
        progress { width: 100%; max-width: 32rem; height: 1.2rem; }
        .actions { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; align-items: center; }
        .actions form { margin: 0; }
        @media (max-width: 600px) { main { padding: .6rem; } th, td { padding: .2rem .3rem; } header form.lang { margin-left: 0; }
        dl.receipt { grid-template-columns: 1fr; gap: .1rem; } dl.receipt dd { margin-bottom: .4rem; } }
        @media print { .noprint, header nav, header form, .actions { display: none !important; } header { background: none; }
            body { font-size: 12pt; } main { max-width: none; } a { color: inherit; text-decoration: none; } }
        """

    /// The one script: a print button (the page works without it; the CSP allows only this file).
    static let js = """
        document.addEventListener("DOMContentLoaded", function () {
          var b = document.getElementById("print");
          if (b) { b.addEventListener("click", function () { window.print(); }); }
        });
        """
}
