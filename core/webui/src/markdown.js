// Markdown for LLM output, which is untrusted text: raw HTML is escaped
// (html: false), link targets are checked by markdown-it's validateLink
// (no javascript:, vbscript:, file: or non-image data: URLs), and images
// are not loaded, so a response cannot run code or call out of the page.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
md.disable('image');

const defaultLinkOpen = md.renderer.rules.link_open || ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('target', '_blank');
  tokens[idx].attrSet('rel', 'noopener noreferrer');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

// renderMarkdown returns HTML that is safe to assign to innerHTML.
export function renderMarkdown(text) {
  return md.render(String(text ?? ''));
}
