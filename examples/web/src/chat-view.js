// The message history as bubbles, flat in the messages list: user bubbles are <div>s,
// assistant bubbles <article>s (`data-testid="assistant"`, so `[data-testid=assistant]:last-of-type`
// is the latest reply), notes such as "stopped" a <small> after their bubble, app lines a <p>.
// A bubble holds only message text (typing dots and the caret are CSS), so an assistant
// bubble's textContent is exactly the reply.

export class ChatView {
  #list;
  #empty;

  constructor(list, empty) {
    this.#list = list;
    this.#empty = empty;
  }

  /** Removes every message and shows the empty state again. */
  clear() {
    for (const el of [...this.#list.children]) if (el !== this.#empty) el.remove();
    this.#empty.hidden = false;
  }

  /** Appends the user's message; returns its bubble (to mark it if the turn fails). */
  addUser(text) {
    const bubble = this.#add('div', 'message user', 'user');
    bubble.textContent = text;
    this.#scroll(true);
    return bubble;
  }

  /** A short line from the app itself (a cancelled load, ...). */
  addNote(text) {
    this.#add('p', 'note').textContent = text;
    this.#scroll(true);
  }

  /** Appends an empty assistant bubble that streams; returns its handle. */
  addAssistant() {
    const bubble = this.#add('article', 'message assistant pending streaming', 'assistant');
    this.#scroll(true);
    let text = '';
    return {
      element: bubble,
      append: (piece) => {
        if (!piece) return;
        const stick = this.#nearBottom();
        text += piece;
        bubble.classList.remove('pending');
        bubble.textContent = text;
        this.#scroll(stick);
      },
      /** Ends streaming; `note` (e.g. "stopped") is shown under the bubble. */
      finish: ({ note = '', failed = false } = {}) => {
        bubble.classList.remove('pending', 'streaming');
        bubble.classList.toggle('failed', failed);
        bubble.classList.toggle('blank', !text && !failed);
        if (note) {
          const meta = document.createElement('small');
          meta.className = failed ? 'meta failed' : 'meta';
          meta.textContent = note;
          bubble.after(meta);
        }
      },
      get text() {
        return text;
      },
    };
  }

  #add(tag, className, testid) {
    this.#empty.hidden = true;
    const el = document.createElement(tag);
    el.className = className;
    if (testid) el.dataset.testid = testid;
    this.#list.append(el);
    return el;
  }

  #nearBottom() {
    const l = this.#list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 48;
  }

  #scroll(stick) {
    if (stick) this.#list.scrollTop = this.#list.scrollHeight;
  }
}
