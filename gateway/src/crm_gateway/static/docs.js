// Renders the OpenAPI document as a list of operations, grouped by tag.
(async function () {
  const doc = await (await fetch('/api/openapi.json')).json();
  const schemas = doc.components.schemas;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push([method, path, op]);
    }
  }
  const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]));
  const resolve = (s) => (s && s.$ref ? schemas[s.$ref.split('/').pop()] : s);
  const main = document.getElementById('ops');
  main.textContent = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2');
    h.textContent = tag;
    main.appendChild(h);
    for (const [method, path, op] of ops) {
      const d = document.createElement('details');
      const body = op.requestBody && Object.values(op.requestBody.content)[0];
      let html = `<summary><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code> — ${esc(op.summary)}` +
        (op.security && op.security.length ? ' <span class="lock">🔒 bearer</span>' : '') + '</summary>';
      if (op.description) html += `<p>${esc(op.description)}</p>`;
      const params = (op.parameters || []).filter((p) => p.in !== 'header');
      if (params.length) html += '<h4>Parameters</h4><ul>' + params.map((p) => `<li><code>${esc(p.name)}</code> (${p.in})</li>`).join('') + '</ul>';
      if (body) html += `<h4>Body</h4><pre>${esc(JSON.stringify(resolve(body.schema), null, 2))}</pre>`;
      html += '<h4>Responses</h4><ul>' + Object.entries(op.responses).map(([c, r]) => `<li><b>${c}</b> ${esc(r.description)}</li>`).join('') + '</ul>';
      d.innerHTML = html;
      main.appendChild(d);
    }
  }
})();
