// What a recorded call says, pulled out of the SDKs' own JSON: the messages
// of a request, the text of a response, token counts and attachments. Each
// SDK shapes these differently; whatever is not recognised is still shown
// as JSON by the panel, so nothing recorded is ever hidden.

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// part turns one content part of any SDK into {text} or {attachment}.
function part(p) {
  if (typeof p === 'string') return { text: p };
  if (!isObj(p)) return { text: JSON.stringify(p) };
  if (typeof p.text === 'string') return { text: p.text };
  const t = p.type || '';
  if (t === 'image_url' || t === 'input_image') {
    const url = isObj(p.image_url) ? p.image_url.url : p.image_url || p.file_id || '';
    return { attachment: { kind: 'image', name: describeURL(url) } };
  }
  if (t === 'input_audio') return { attachment: { kind: 'audio', name: (p.input_audio && p.input_audio.format) || 'audio' } };
  if (t === 'file' || t === 'input_file') {
    const f = isObj(p.file) ? p.file : p;
    return { attachment: { kind: 'file', name: f.filename || f.file_id || 'file' } };
  }
  if (t === 'image' || t === 'document') {
    const src = p.source || {};
    return { attachment: { kind: t, name: src.media_type || src.url || src.type || t } };
  }
  if (isObj(p.inline_data) || isObj(p.inlineData)) {
    const d = p.inline_data || p.inlineData;
    return { attachment: { kind: 'file', name: d.mime_type || d.mimeType || 'inline data' } };
  }
  if (isObj(p.file_data) || isObj(p.fileData)) {
    const d = p.file_data || p.fileData;
    return { attachment: { kind: 'file', name: d.file_uri || d.fileUri || 'file' } };
  }
  return { text: JSON.stringify(p, null, 2), json: true };
}

// A data: URL is the attachment itself; naming its type is enough.
function describeURL(url) {
  if (typeof url !== 'string') return 'image';
  if (url.startsWith('data:')) return url.slice(5, url.indexOf(';') > 0 ? url.indexOf(';') : 40) + ' (inline)';
  return url.length > 120 ? url.slice(0, 117) + '…' : url;
}

function parts(content) {
  if (content === undefined || content === null) return [];
  if (Array.isArray(content)) return content.map(part);
  return [part(content)];
}

function message(m) {
  if (typeof m === 'string') return { role: 'user', parts: [{ text: m }] };
  if (!isObj(m)) return { role: 'item', parts: [part(m)] };
  const role = m.role || m.type || 'item';
  let ps = parts(m.content ?? m.parts);
  if (Array.isArray(m.tool_calls)) {
    ps = ps.concat(m.tool_calls.map((c) => ({ text: toolCallText(c), json: true })));
  }
  if (ps.length === 0) {
    const rest = { ...m };
    delete rest.role;
    ps = [{ text: JSON.stringify(rest, null, 2), json: true }];
  }
  return { role, parts: ps };
}

function toolCallText(c) {
  const f = c.function || c;
  let args = f.arguments;
  try {
    args = JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    // Arguments that are not JSON are shown as the model wrote them.
  }
  return `${f.name || 'tool'}(${args ?? ''})`;
}

// inputMessages returns the conversation a request sends, oldest first, or
// [] when the request has no recognisable messages.
export function inputMessages(input) {
  if (!isObj(input)) return [];
  const out = [];
  if (typeof input.instructions === 'string') out.push({ role: 'instructions', parts: [{ text: input.instructions }] });
  if (input.system !== undefined) out.push({ role: 'system', parts: parts(input.system) });
  if (typeof input.prompt === 'string') out.push({ role: 'user', parts: [{ text: input.prompt }] });
  for (const key of ['messages', 'input', 'contents']) {
    const v = input[key];
    if (typeof v === 'string') out.push({ role: 'user', parts: [{ text: v }] });
    else if (Array.isArray(v)) out.push(...v.map(message));
  }
  return out;
}

// shownAsMessages says whether inputMessages takes key k of a request.
function shownAsMessages(k, v) {
  switch (k) {
    case 'instructions':
    case 'prompt':
      return typeof v === 'string';
    case 'system':
      return v !== undefined;
    case 'messages':
    case 'input':
    case 'contents':
      return typeof v === 'string' || Array.isArray(v);
  }
  return false;
}

// inputParams is the request without its messages: model, temperature, tools…
export function inputParams(input) {
  if (!isObj(input)) return {};
  const rest = {};
  for (const [k, v] of Object.entries(input)) {
    if (!shownAsMessages(k, v)) rest[k] = v;
  }
  return rest;
}

// outputText is the text a response carries, or '' when it has none that
// this page recognises. output is {type, data} as recorded, or an
// overwrite {text}.
export function outputText(output) {
  if (!isObj(output)) return '';
  if (typeof output.text === 'string' && output.data === undefined) return output.text;
  const d = output.data;
  if (typeof d === 'string') return d;
  if (!isObj(d)) return '';
  const texts = [];
  if (Array.isArray(d.choices)) {
    for (const c of d.choices) {
      const m = c.message || c.delta || {};
      if (typeof m.content === 'string') texts.push(m.content);
      if (Array.isArray(m.tool_calls)) texts.push(...m.tool_calls.map(toolCallText));
      if (typeof c.text === 'string') texts.push(c.text);
    }
  } else if (Array.isArray(d.output)) {
    for (const item of d.output) {
      if (Array.isArray(item.content)) {
        for (const c of item.content) if (typeof c.text === 'string') texts.push(c.text);
      } else if (item.type === 'function_call') {
        texts.push(toolCallText(item));
      }
    }
  } else if (Array.isArray(d.content)) {
    for (const c of d.content) {
      if (typeof c.text === 'string') texts.push(c.text);
      else if (c.type === 'tool_use') texts.push(`${c.name}(${JSON.stringify(c.input, null, 2)})`);
    }
  } else if (Array.isArray(d.candidates)) {
    for (const c of d.candidates) {
      for (const p of (c.content && c.content.parts) || []) if (typeof p.text === 'string') texts.push(p.text);
    }
  } else if (typeof d.output_text === 'string') {
    texts.push(d.output_text);
  } else if (typeof d.text === 'string') {
    texts.push(d.text);
  }
  return texts.join('\n\n');
}

// effectiveOutput is what the program got: the overwrite when the output
// was edited (a text overwrite keeps the recorded type), else the recording.
export function effectiveOutput(call) {
  const ow = call.output_overwrite;
  if (isObj(ow)) return ow;
  return call.output;
}

// displayOutputText prefers the structured text, then the server's display
// text, so that tool calls and unknown SDKs still read as something.
export function displayOutputText(call) {
  return outputText(effectiveOutput(call)) || (isObj(call.output_overwrite) ? '' : call.output_text || '');
}

// usage returns {input, output} token counts where the SDK reported them.
export function usage(output) {
  const d = isObj(output) && isObj(output.data) ? output.data : null;
  if (!d) return null;
  const u = d.usage || d.usage_metadata || d.usageMetadata;
  if (!isObj(u)) return null;
  const input = u.prompt_tokens ?? u.input_tokens ?? u.prompt_token_count ?? u.promptTokenCount;
  const out = u.completion_tokens ?? u.output_tokens ?? u.candidates_token_count ?? u.candidatesTokenCount;
  if (input === undefined && out === undefined) return null;
  return { input: input ?? null, output: out ?? null };
}

// attachments lists the non-text parts of a request.
export function attachments(input) {
  const out = [];
  for (const m of inputMessages(input)) {
    for (const p of m.parts) if (p.attachment) out.push({ role: m.role, ...p.attachment });
  }
  return out;
}

// nodeLabel is what a graph node says: the model, or the tool's name.
export function nodeLabel(call) {
  if (call.model) return call.model;
  const api = call.api || '';
  return api.split('.').slice(-2).join('.') || call.kind || 'call';
}

export function shortAPI(api) {
  const p = (api || '').split('.');
  return p.length > 2 ? p.slice(1).join('.') : api || '';
}
