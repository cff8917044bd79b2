/**
 * @module `discover -o html`: one self-contained HTML file with an interactive map
 * (Cytoscape.js inlined, no network), grouped by app then role, edge width by flows, filters
 * by label, port and pattern, and the evidence of a clicked node or edge.
 * @see https://js.cytoscape.org/
 */
import type { DependencyMap } from '../types.js'
import { discoverOutput, serviceText } from './json.js'
import { counted } from '../../core/index.js'

/** The data the page's script reads (`window.bulkheadData`). */
interface PageData {
  readonly title: string
  readonly window: { start: string; end: string } | null
  /** The IANA zone of the profiles' hours and days. */
  readonly timeZone: string
  readonly warnings: readonly string[]
  readonly nodes: readonly Record<string, unknown>[]
  readonly edges: readonly Record<string, unknown>[]
}

/** Text safe inside `<script>`: `<`, `>`, `&`, U+2028/9 escaped so the data cannot close it. */
function scriptSafe(json: string): string {
  return json
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

function htmlText(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

/**
 * Compound parents: `app:<app>` and `role:<app>/<role>` for workloads and identities, with `\`
 * and `/` in `<app>` written `\\` and `\/`.
 */
function pageData(map: DependencyMap, title: string): PageData {
  const out = discoverOutput(map)
  const nodes: Record<string, unknown>[] = []
  const groups = new Set<string>()
  for (const e of map.entities) {
    let parent: string | undefined
    if (e.kind === 'workload' || e.kind === 'identity') {
      const app = e.labels['app']
      const role = e.labels['role']
      if (app !== undefined) {
        const appId = `app:${app}`
        if (!groups.has(appId)) {
          groups.add(appId)
          nodes.push({
            data: { id: appId, label: `app=${app}`, group: 'app' },
            classes: 'group app',
          })
        }
        parent = appId
        if (role !== undefined) {
          // `\` and `/` in the app are escaped: app a/b role c and app a role b/c are two groups
          const roleId = `role:${app.replace(/[\\/]/g, '\\$&')}/${role}`
          if (!groups.has(roleId)) {
            groups.add(roleId)
            nodes.push({
              data: { id: roleId, label: `role=${role}`, group: 'role', parent: appId },
              classes: 'group role',
            })
          }
          parent = roleId
        }
      }
    }
    nodes.push({
      data: {
        id: `e:${e.id}`,
        entity: e.id,
        label: e.name,
        kind: e.kind,
        labels: e.labels,
        ...(e.members ? { members: e.members } : {}),
        ...(parent !== undefined ? { parent } : {}),
      },
      classes: `entity ${e.kind}`,
    })
  }
  const edges = map.edges.map((e, i) => {
    const o = out.edges[i]
    return {
      data: {
        id: `x${i}`,
        source: `e:${e.src}`,
        target: `e:${e.dst}`,
        label: serviceText(e.protocol, e.dstPort),
        width: Math.round((1 + 2 * Math.log10(Math.max(1, e.flows))) * 10) / 10,
        ...o,
        hourOfWeek: e.profile.hourOfWeek,
        dayOfMonth: e.profile.dayOfMonth,
      },
      classes: `flow ${e.pattern}`,
    }
  })
  return {
    title,
    window: out.window,
    timeZone: out.timeZone,
    warnings: map.diagnostics.map((d) => d.message),
    nodes,
    edges,
  }
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,Helvetica,Arial,sans-serif;display:flex;height:100vh;color:#1b1f24}
#side{width:340px;padding:10px;border-right:1px solid #d0d7de;overflow:auto;background:#f6f8fa}
#cy{flex:1;min-width:0}h1{font-size:15px;margin:0 0 6px}label{display:block;margin:6px 0 2px;font-weight:600}
input,select{width:100%;padding:3px}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:4px;margin:6px 0}
#evidence table{border-collapse:collapse;width:100%}#evidence td{border-bottom:1px solid #e1e4e8;padding:2px 4px;vertical-align:top}
#evidence td:first-child{color:#57606a;white-space:nowrap}.heat{display:grid;grid-template-columns:repeat(24,1fr);gap:1px;margin-top:4px}
.heat div{height:8px;background:#ebedf0}.muted{color:#57606a}`

const SCRIPT = `
(function(){
var data = window.bulkheadData;
var colors = {continuous:'#0969da','business-hours':'#1a7f37',nightly:'#8250df',weekly:'#bf8700','month-end':'#cf222e',rare:'#6e7781',once:'#afb8c1'};
// a label wraps at MAX_W px (about 60 characters, at line breaks in the name too), so that one
// long name cannot make its box thousands of pixels wide and zoom the whole map out of reading
var MAX_W = 400;
function labelBox(n){
  var rows = String(n.data('label')).split('\\n');
  var w = 24, lines = 0;
  rows.forEach(function(r){ w = Math.max(w, Math.min(MAX_W, 6.5 * r.length)); lines += Math.max(1, Math.ceil(6.5 * r.length / MAX_W)); });
  return {w: w, h: 6 + 12 * lines};
}
var cy = cytoscape({
  container: document.getElementById('cy'),
  elements: {nodes: data.nodes, edges: data.edges},
  style: [
    {selector:'node', style:{'label':'data(label)','font-size':10,'text-valign':'center','text-halign':'center','background-color':'#ddf4ff','border-width':1,'border-color':'#54aeff','shape':'round-rectangle','text-wrap':'wrap','text-max-width':MAX_W,'text-overflow-wrap':'anywhere','width':function(n){return labelBox(n).w},'height':function(n){return labelBox(n).h},'padding':'6px'}},
    {selector:'node.external', style:{'shape':'ellipse','background-color':'#fff1e5','border-color':'#fb8f44'}},
    {selector:'node.unmanaged', style:{'shape':'ellipse','background-color':'#f6f8fa','border-color':'#8c959f','border-style':'dashed'}},
    {selector:'node.identity', style:{'background-color':'#dafbe1','border-color':'#4ac26b'}},
    {selector:'node.group', style:{'text-valign':'top','background-opacity':0.06,'border-style':'dotted','font-weight':'bold','shape':'round-rectangle'}},
    {selector:'node.app', style:{'border-color':'#0969da','background-color':'#0969da'}},
    {selector:'node.role', style:{'border-color':'#8250df','background-color':'#8250df'}},
    {selector:'edge', style:{'width':'data(width)','curve-style':'bezier','target-arrow-shape':'triangle','arrow-scale':0.8,'line-color':'#8c959f','target-arrow-color':'#8c959f','label':'data(label)','font-size':8,'text-rotation':'autorotate','color':'#57606a'}},
    {selector:'.hidden', style:{'display':'none'}},
    {selector:':selected', style:{'border-width':3,'border-color':'#cf222e','line-color':'#cf222e','target-arrow-color':'#cf222e'}}
  ].concat(Object.keys(colors).map(function(p){return {selector:'edge.'+p, style:{'line-color':colors[p],'target-arrow-color':colors[p]}}})),
  layout: {name:'cose', animate:false, randomize:false, nodeDimensionsIncludeLabels:true, componentSpacing:60, numIter:600}
});
// cose leaves some entities on top of each other (and is not deterministic): push apart every
// pair whose boxes (with labels) overlap, along the axis where they overlap least, until none do
function separate(){
  var ents = cy.nodes('.entity').toArray();
  var box = ents.map(function(n){ var b = n.boundingBox({includeLabels:true}); return {n:n, x1:b.x1, x2:b.x2, y1:b.y1, y2:b.y2}; });
  function shift(b, dx, dy){ b.x1 += dx; b.x2 += dx; b.y1 += dy; b.y2 += dy; var p = b.n.position(); b.n.position({x:p.x + dx, y:p.y + dy}); }
  for(var pass = 0; pass < 2000; pass++){
    var moved = false;
    box.sort(function(a, b){ return a.x1 - b.x1; });
    for(var i = 0; i < box.length; i++){
      var a = box[i];
      for(var j = i + 1; j < box.length && box[j].x1 < a.x2; j++){
        var b = box[j];
        var ox = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1), oy = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
        if(ox <= 0 || oy <= 0) continue;
        moved = true;
        if(oy <= ox){ var dy = oy / 2 + 2; if(a.y1 + a.y2 <= b.y1 + b.y2){ shift(a, 0, -dy); shift(b, 0, dy); } else { shift(a, 0, dy); shift(b, 0, -dy); } }
        else { var dx = ox / 2 + 2; shift(a, -dx, 0); shift(b, dx, 0); }
      }
    }
    if(!moved) return pass;
  }
  return pass;
}
if(cy.nodes('.entity').length <= 2000){ separate(); cy.fit(undefined, 30); }
window.bulkheadMap = cy;
var fLabel = document.getElementById('f-label'), fPort = document.getElementById('f-port'), fPattern = document.getElementById('f-pattern');
function labelMatch(n, q){
  if(!q) return true;
  var d = n.data(); var eq = q.indexOf('=');
  var labels = d.labels || {};
  if(eq > 0){ var k = q.slice(0, eq).trim(), v = q.slice(eq + 1).trim(); return labels[k] === v; }
  return Object.keys(labels).some(function(k){ return k === q || labels[k] === q; }) || String(d.label).indexOf(q) >= 0;
}
function apply(){
  var q = fLabel.value.trim(), port = fPort.value.trim(), pat = fPattern.value;
  cy.batch(function(){
    cy.elements().removeClass('hidden');
    var keep = cy.collection();
    cy.edges().forEach(function(e){
      var ok = (!port || String(e.data('port')) === port) && (!pat || e.data('pattern') === pat) &&
        (!q || labelMatch(e.source(), q) || labelMatch(e.target(), q));
      if(ok) keep = keep.union(e).union(e.source()).union(e.target()); else e.addClass('hidden');
    });
    var filtering = q || port || pat;
    cy.nodes('.entity').forEach(function(n){ if(filtering && !keep.contains(n) && !(q && !port && !pat && labelMatch(n, q))) n.addClass('hidden'); });
    cy.nodes('.group').forEach(function(g){ if(g.descendants('.entity').filter(function(n){return !n.hasClass('hidden')}).length === 0) g.addClass('hidden'); });
  });
  document.getElementById('count').textContent = cy.edges().not('.hidden').length + ' of ' + cy.edges().length + ' edges shown';
}
[fLabel, fPort].forEach(function(el){ el.addEventListener('input', apply); });
fPattern.addEventListener('change', apply);
var ev = document.getElementById('evidence');
function row(t, k, v){ var tr = document.createElement('tr'); var a = document.createElement('td'); a.textContent = k; var b = document.createElement('td'); b.textContent = v; tr.appendChild(a); tr.appendChild(b); t.appendChild(tr); }
function heat(values, cols){
  var max = Math.max.apply(null, values.concat([1])); var g = document.createElement('div'); g.className = 'heat';
  g.style.gridTemplateColumns = 'repeat(' + cols + ',1fr)';
  values.forEach(function(v, i){ var c = document.createElement('div'); if(v > 0) c.style.background = 'rgba(9,105,218,' + (0.2 + 0.8 * v / max) + ')'; c.title = i + ': ' + v; g.appendChild(c); });
  return g;
}
function show(el){
  ev.textContent = ''; var t = document.createElement('table'); var d = el.data();
  if(el.isEdge()){
    var h = document.createElement('h1'); h.textContent = d.src + ' \\u2192 ' + d.dst; ev.appendChild(h);
    row(t,'service', d.label); row(t,'pattern', d.pattern); row(t,'flows', d.flows); row(t,'packets', d.packets); row(t,'bytes', d.bytes);
    row(t,'first seen', d.firstSeen); row(t,'last seen', d.lastSeen); row(t,'active days', d.activeDays);
    if(d.unknownDirection) row(t,'direction unsure', d.unknownDirection + ' flows');
    if(d.rejected) row(t,'rejected', d.rejected + ' flows');
    ev.appendChild(t);
    var p1 = document.createElement('div'); p1.className = 'muted'; p1.textContent = 'hour of week: flows open in each hour (rows Mon..Sun, 24 h ' + data.timeZone + ')'; ev.appendChild(p1); ev.appendChild(heat(d.hourOfWeek, 24));
    var p2 = document.createElement('div'); p2.className = 'muted'; p2.textContent = 'day of month: flows active on each day (1..31)'; ev.appendChild(p2); ev.appendChild(heat(d.dayOfMonth, 31));
  } else if(d.entity !== undefined){
    var h2 = document.createElement('h1'); h2.textContent = d.label; ev.appendChild(h2);
    row(t,'kind', d.kind);
    Object.keys(d.labels || {}).sort().forEach(function(k){ row(t, 'label ' + k, d.labels[k]); });
    if(d.members) row(t,'members', d.members.join(', '));
    row(t,'calls out', el.outgoers('edge').length + ' edges'); row(t,'called by', el.incomers('edge').length + ' edges');
    ev.appendChild(t);
  } else { ev.textContent = d.label; }
}
cy.on('tap', 'node, edge', function(e){ show(e.target); });
apply();
document.body.setAttribute('data-entities', String(cy.nodes('.entity').length));
document.body.setAttribute('data-edges', String(cy.edges().length));
document.body.setAttribute('data-ready', '1');
})();`

/**
 * Renders the map as one self-contained HTML page: `cytoscapeJs` (the text of
 * `cytoscape/dist/cytoscape.min.js`) and the map data are inlined, so the file opens from disk
 * without network. Nodes: `app:<app>` compound nodes holding `role:<app>/<role>` nodes holding
 * the workloads (or identities); externals and unmanaged ranges at top level. Edge width grows
 * with log10(flows), colour by pattern. The page exposes the Cytoscape instance as
 * `window.bulkheadMap`, the data as `window.bulkheadData`, and once laid out sets on `<body>`
 * `data-entities` and `data-edges` (counts rendered) and `data-ready="1"`; `#count` says how
 * many edges the filters show. Deterministic for equal input. The page in one string:
 * {@link renderHtmlPieces} for a large map.
 */
export function renderHtml(
  map: DependencyMap,
  cytoscapeJs: string,
  title = 'Bulkhead dependency map',
): string {
  return [...renderHtmlPieces(map, cytoscapeJs, title)].join('')
}

/**
 * {@link renderHtml} in pieces, the same text when joined: the data of each node and edge is a
 * piece of its own, so a map of hundreds of thousands of edges is never one string (V8 caps a
 * string at about 512 MiB).
 */
export function* renderHtmlPieces(
  map: DependencyMap,
  cytoscapeJs: string,
  title = 'Bulkhead dependency map',
): Generator<string> {
  const data = pageData(map, title)
  const patterns = [
    'continuous',
    'business-hours',
    'nightly',
    'weekly',
    'month-end',
    'rare',
    'once',
  ]
  const window = data.window ? `${data.window.start} to ${data.window.end}` : 'no flows'
  const warnings = data.warnings.map((w) => `<div class="warn">${htmlText(w)}</div>`).join('')
  yield `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlText(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<div id="side">
<h1>${htmlText(title)}</h1>
<div class="muted">window ${htmlText(window)}</div>
<div class="muted">${counted(map.entities.length, 'entity', 'entities')}, ${counted(map.edges.length, 'edge')}</div>
${warnings}
<label for="f-label">label (key=value, key or name)</label><input id="f-label" placeholder="app=payments">
<label for="f-port">port</label><input id="f-port" inputmode="numeric" placeholder="5432">
<label for="f-pattern">pattern</label><select id="f-pattern"><option value="">any</option>${patterns.map((p) => `<option value="${p}">${p}</option>`).join('')}</select>
<p id="count" class="muted"></p>
<div id="evidence" class="muted">Click a node or an edge for its evidence.</div>
</div>
<div id="cy"></div>
<script>${cytoscapeJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>window.bulkheadData = `
  yield* pageDataJson(data)
  yield `;</script>
<script>${SCRIPT}</script>
</body>
</html>
`
}

/** `scriptSafe(JSON.stringify(data))` in pieces: one per node and edge. */
function* pageDataJson(data: PageData): Generator<string> {
  const { nodes, edges, ...head } = data
  const json = (v: unknown): string => scriptSafe(JSON.stringify(v))
  yield `${json(head).slice(0, -1)},"nodes":[`
  for (const [i, n] of nodes.entries()) yield `${i === 0 ? '' : ','}${json(n)}`
  yield '],"edges":['
  for (const [i, e] of edges.entries()) yield `${i === 0 ? '' : ','}${json(e)}`
  yield ']}'
}
