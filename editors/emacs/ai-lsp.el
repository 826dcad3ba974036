;;; ai-lsp.el --- Use ai-lsp from eglot (proxy mode) or lsp-mode (add-on server)  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: languages, tools
;; URL: https://github.com/ai-lsp/ai-lsp

;;; Commentary:

;; ai-lsp is a language server that adds AI completions, code actions and chat to any
;; LSP editor.  This file connects it to the two Emacs LSP clients:
;;
;; - eglot runs one server per major mode, so ai-lsp runs in proxy mode: it starts the
;;   real language server itself (pyright, rust-analyzer, ...), forwards everything it
;;   does not answer, and merges its completions and code actions with the real ones.
;;
;;     (require 'ai-lsp)
;;     (ai-lsp-eglot-setup)     ; after (require 'eglot)
;;
;; - lsp-mode runs several servers per buffer, so ai-lsp is registered as an add-on
;;   next to the language's own server (which lsp-mode keeps running as usual).
;;
;;     (require 'ai-lsp)
;;     (ai-lsp-lsp-mode-setup)  ; after (require 'lsp-mode)
;;
;; `ai-lsp-upstream-servers' says which real server each major mode gets in proxy mode.

;;; Code:

(require 'cl-lib)

(defgroup ai-lsp nil
  "AI completions, code actions and chat through the ai-lsp language server."
  :group 'tools
  :prefix "ai-lsp-")

(defcustom ai-lsp-command '("ai-lsp")
  "Command line that starts ai-lsp (it speaks LSP on stdin and stdout)."
  :type '(repeat string))

(defcustom ai-lsp-upstream-servers
  '((python-mode "python" ("pyright-langserver" "--stdio"))
    (rust-mode "rust" ("rust-analyzer"))
    (go-mode "go" ("gopls"))
    (c-mode "c" ("clangd"))
    (c++-mode "cpp" ("clangd"))
    (typescript-mode "typescript" ("typescript-language-server" "--stdio"))
    (js-mode "javascript" ("typescript-language-server" "--stdio")))
  "Real language servers ai-lsp fronts under eglot, by major mode.
Each entry is (MAJOR-MODE LANGUAGE COMMAND): LANGUAGE is the key of
`[upstream.LANGUAGE]' in ai-lsp's configuration and COMMAND the
server's command line.  A COMMAND of nil lets ai-lsp pick the
first installed server it knows for LANGUAGE."
  :type '(repeat (list (symbol :tag "Major mode")
                       (string :tag "Language")
                       (choice (const :tag "ai-lsp's default" nil)
                               (repeat :tag "Command" string)))))

(defcustom ai-lsp-initialization-options nil
  "More ai-lsp settings sent as `initializationOptions', as a plist.
For example (:completion (:model \"fast\")).  See `ai-lsp config --schema'."
  :type 'plist)

(defcustom ai-lsp-lsp-mode-modes '(prog-mode)
  "Major modes (and their derived modes) where lsp-mode starts ai-lsp as an add-on."
  :type '(repeat symbol))

(defun ai-lsp--upstream-options (language command)
  "The `upstream' initialization options running COMMAND for LANGUAGE in proxy mode."
  (let ((server (append (and command (list :command (vconcat command)))
                        (list :mode "proxy"))))
    (list :upstream (list (intern (concat ":" language)) server))))

(defun ai-lsp-eglot-contact (language command)
  "An eglot contact for ai-lsp fronting COMMAND, the server of LANGUAGE."
  (append ai-lsp-command
          (list :initializationOptions
                (append (ai-lsp--upstream-options language command)
                        ai-lsp-initialization-options))))

;;;###autoload
(defun ai-lsp-eglot-setup ()
  "Make eglot use ai-lsp in proxy mode for the modes of `ai-lsp-upstream-servers'.
The entries go first in `eglot-server-programs', so they win over eglot's defaults."
  (defvar eglot-server-programs)
  (pcase-dolist (`(,mode ,language ,command) (reverse ai-lsp-upstream-servers))
    (setq eglot-server-programs
          (cons (cons mode (ai-lsp-eglot-contact language command))
                (cl-remove mode eglot-server-programs :key #'car :test #'equal)))))

(declare-function lsp-register-client "lsp-mode")
(declare-function make-lsp-client "lsp-mode")
(declare-function lsp-stdio-connection "lsp-mode")

;;;###autoload
(defun ai-lsp-lsp-mode-setup ()
  "Register ai-lsp with lsp-mode as an add-on server for `ai-lsp-lsp-mode-modes'.
ai-lsp then runs next to each buffer's own server (sidecar mode)."
  (require 'lsp-mode)
  (lsp-register-client
   (make-lsp-client
    :new-connection (lsp-stdio-connection (lambda () ai-lsp-command))
    :activation-fn (lambda (&rest _)
                     (apply #'derived-mode-p ai-lsp-lsp-mode-modes))
    :add-on? t
    :priority -2
    :server-id 'ai-lsp
    :initialization-options (lambda () ai-lsp-initialization-options))))

(provide 'ai-lsp)
;;; ai-lsp.el ends here
