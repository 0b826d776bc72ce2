import Foundation

/// The misclassified examples (`errors.jsonl`) as a table a reader can filter by true and
/// predicted label and sort by confidence (the probability of the predicted label), with the
/// little plain JavaScript that does it. Every value reaches the page escaped, in element text or
/// `data-*` attributes; the script reads attributes only and writes text only.
enum ErrorTable {
    /// Rows shown at most (the file can hold thousands on a large test split).
    static let maximumRows = 2000

    static func html(_ errors: [RunArtifacts.ErrorExample], labels: [String], id: String) -> String {
        let shown = errors.prefix(maximumRows)
        let labelSet = labels.isEmpty ? Array(Set(errors.flatMap { [$0.label, $0.predicted] })).sorted() : labels
        func select(_ name: String) -> String {
            "<label>\(name) <select data-filter=\"\(name)\"><option value=\"\">any</option>"
                + labelSet.map { "<option value=\"\(ReportHTML.escape($0))\">\(ReportHTML.escape($0))</option>" }.joined()
                + "</select></label> "
        }
        var html = "<div class=\"error-filter\" data-table=\"\(ReportHTML.escape(id))\">"
        html += select("true") + select("predicted")
        html += "<span class=\"shown\"></span>"
        if errors.count > shown.count { html += " (the first \(shown.count) of \(errors.count) errors)" }
        html += "</div>\n<table class=\"errors\" id=\"\(ReportHTML.escape(id))\"><thead><tr><th>#</th><th>true</th><th>predicted</th>"
        html += "<th class=\"sortable\" title=\"click to sort\">confidence ⇅</th><th>text</th><th>source</th></tr></thead><tbody>"
        for (index, error) in shown.enumerated() {
            html += "<tr data-label=\"\(ReportHTML.escape(error.label))\" data-predicted=\"\(ReportHTML.escape(error.predicted))\" "
            html += "data-confidence=\"\(error.confidence.isFinite ? String(error.confidence) : "0")\">"
            html += "<td class=\"num\">\(index + 1)</td><td>\(ReportHTML.escape(error.label))</td><td>\(ReportHTML.escape(error.predicted))</td>"
            html += "<td class=\"num\">\(error.confidence.isFinite ? String(format: "%.4f", error.confidence) : "–")</td>"
            html += "<td class=\"text\">\(ReportHTML.escape(error.text))</td><td>\(ReportHTML.escape(error.source ?? ""))</td></tr>"
        }
        return html + "</tbody></table>\n"
    }

    /// Filters rows by the two selects, counts what is shown, sorts by `data-confidence` on a
    /// click of the header (descending first).
    static let script = """
        (function () {
          document.querySelectorAll('.error-filter').forEach(function (box) {
            var table = document.getElementById(box.getAttribute('data-table'));
            if (!table) { return; }
            var trueSelect = box.querySelector('select[data-filter="true"]');
            var predictedSelect = box.querySelector('select[data-filter="predicted"]');
            var body = table.tBodies[0];
            function apply() {
              var t = trueSelect.value, p = predictedSelect.value, shown = 0;
              Array.prototype.forEach.call(body.rows, function (row) {
                var keep = (t === '' || row.getAttribute('data-label') === t) &&
                  (p === '' || row.getAttribute('data-predicted') === p);
                row.hidden = !keep;
                if (keep) { shown += 1; }
              });
              box.querySelector('.shown').textContent = shown + ' of ' + body.rows.length + ' rows shown';
            }
            trueSelect.addEventListener('change', apply);
            predictedSelect.addEventListener('change', apply);
            var descending = true;
            table.querySelector('th.sortable').addEventListener('click', function () {
              var rows = Array.prototype.slice.call(body.rows);
              rows.sort(function (a, b) {
                var d = parseFloat(a.getAttribute('data-confidence')) - parseFloat(b.getAttribute('data-confidence'));
                return descending ? -d : d;
              });
              rows.forEach(function (row) { body.appendChild(row); });
              descending = !descending;
            });
            apply();
          });
        })();
        """
}
