;;; eglot-proxy.el --- Emacs batch test: eglot 1.9 with ai-lsp as the only server  -*- lexical-binding: t; -*-

;; ai-lsp runs in proxy mode in front of jedi-language-server, set up by
;; editors/emacs/ai-lsp.el.  Reads AI_LSP_CMD (JSON list), AI_LSP_UPSTREAM (JSON list),
;; AI_LSP_FILE (a Python file of the workspace), AI_LSP_EL (the helper package) and writes
;; what it saw as JSON to AI_LSP_OUT; tests/editors/test_emacs.py asserts on it.

(require 'package)
(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
  (add-to-list 'load-path dir))
(require 'json)
(require 'eglot)
(load (getenv "AI_LSP_EL") nil t)

(defvar result (list :status "started"))
(defvar out (getenv "AI_LSP_OUT"))

(defun note (key value)
  (setq result (plist-put result key value)))

(defun write-result ()
  (with-temp-file out
    (insert (json-encode result))))

(defun wait-until (predicate seconds)
  "Let Emacs process events until PREDICATE is true or SECONDS have passed."
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall predicate)))

(defun item-detail (candidate)
  (plist-get (get-text-property 0 'eglot--lsp-item candidate) :detail))

(defun ai-candidates (candidates)
  (cl-remove-if-not (lambda (c) (string-match-p "ai-lsp" (or (item-detail c) ""))) candidates))

;; Watched files: how eglot answered each `client/registerCapability' (eglot 1.9 refuses
;; one when it cannot list the project's files, e.g. when `.git' is a bare folder).
(defvar registrations nil)
(advice-add 'eglot--register-unregister :around
            (lambda (register server things how)
              (let ((ids (mapcar (lambda (thing) (plist-get thing :id)) (cl-coerce things 'list))))
                (condition-case err
                    (prog1 (funcall register server things how)
                      (dolist (id ids) (push (list :id id :outcome "ok") registrations)))
                  (error
                   (dolist (id ids) (push (list :id id :outcome (format "%S" err)) registrations))
                   (signal (car err) (cdr err)))))))

(defun complete-here ()
  "Candidates of `eglot-completion-at-point' at point, as the UI would list them."
  (let* ((capf (eglot-completion-at-point))
         (prefix (buffer-substring-no-properties (nth 0 capf) (nth 1 capf))))
    (all-completions prefix (nth 2 capf))))

(condition-case err
    (let* ((command (json-parse-string (getenv "AI_LSP_CMD") :array-type 'list))
           (upstream (json-parse-string (getenv "AI_LSP_UPSTREAM") :array-type 'list))
           (eglot-sync-connect 30)
           (eglot-connect-timeout 60)
           (eglot-send-changes-idle-time 0)
           (ai-lsp-command command)
           (ai-lsp-initialization-options
            (json-parse-string (getenv "AI_LSP_INIT") :object-type 'plist))
           (ai-lsp-upstream-servers `((python-mode "python" ,upstream))))
      (setq eglot-server-programs nil)
      (ai-lsp-eglot-setup)
      (note :contact (format "%S" (cdr (assq 'python-mode eglot-server-programs))))
      (find-file (getenv "AI_LSP_FILE"))
      (python-mode)
      (apply #'eglot--connect (eglot--guess-contact))
      (unless (wait-until (lambda () (and (eglot-current-server) eglot--managed-mode)) 60)
        (error "eglot did not connect"))
      (let ((server (eglot-current-server)))
        (note :server_name (plist-get (eglot--server-info server) :name))
        (note :hover_provider (and (eglot--server-capable :hoverProvider) t))
        (note :code_action_provider (and (eglot--server-capable :codeActionProvider) t))
        (note :ai_lsp_pid (process-id (jsonrpc--process server)))

        ;; Hover on `compute_total' in `print(compute_total(...))'.
        (goto-char (point-min))
        (search-forward "print(compute_t")
        (let ((hover (jsonrpc-request server :textDocument/hover
                                      (eglot--TextDocumentPositionParams))))
          (note :hover (eglot--hover-info (plist-get hover :contents))))

        ;; Completion: type a new line character by character, as a user would.
        (goto-char (point-max))
        (insert "\n")
        (dolist (char (string-to-list "total = compute_to"))
          (insert (char-to-string char))
          (accept-process-output nil 0.02))
        (let (candidates)
          (wait-until (lambda ()
                        (setq candidates (complete-here))
                        (ai-candidates candidates))
                      20)
          (note :completions (vconcat (mapcar #'substring-no-properties candidates)))
          (note :ai_completions
                (vconcat (mapcar (lambda (c) (list :label (substring-no-properties c)
                                                   :detail (item-detail c)))
                                 (ai-candidates candidates)))))

        ;; Code actions over an expression jedi can extract into a variable.
        (goto-char (point-min))
        (search-forward "compute_total(orders)")
        (let ((actions (eglot-code-actions (match-beginning 0) (match-end 0))))
          (note :code_actions (vconcat (mapcar (lambda (a) (plist-get a :title)) actions))))

;; An AI code action, chosen from eglot's own menu next to jedi's: an `ai:' comment
        ;; above the `print' line asks for the change; eglot 1.9 has no resolve, so the
        ;; action carries `ai-lsp.edit', which applies the edit with `workspace/applyEdit'.
        (goto-char (point-min))
        (search-forward "print(compute_total(orders))")
        (beginning-of-line)
        (insert "# ai: round the total to cents\n")
        (let* ((beg (line-beginning-position 0))
               (end (line-end-position))
               (actions (eglot-code-actions beg end))
               (titles (mapcar (lambda (a) (plist-get a :title)) actions))
               (eglot-confirm-server-initiated-edits nil)
               (last-nonmenu-event 0))
          (note :ai_code_actions (vconcat titles))
          (cl-letf (((symbol-function 'completing-read)
                     (lambda (&rest _) "AI: round the total to cents")))
            (eglot--read-execute-code-action actions server))
          ;; The command answers at once (eglot would freeze Emacs while waiting); the edit
          ;; arrives as `workspace/applyEdit' when the model is done.
          (wait-until (lambda () (not (save-excursion
                                        (goto-char (point-min))
                                        (search-forward "# ai:" nil t))))
                      20)
          (note :after_ai_edit (buffer-substring-no-properties (point-min) (point-max))))

        ;; Index updates follow saves, whether or not eglot watches the workspace's files.
        (let ((status (lambda ()
                        (jsonrpc-request server :workspace/executeCommand
                                         '(:command "ai-lsp.index.status" :arguments [])))))
          (wait-until (lambda () (equal (plist-get (funcall status) :state) "ready")) 30)
          (let ((before (plist-get (funcall status) :files)))
            (note :index_files_before before)
            (with-current-buffer (find-file-noselect
                                  (expand-file-name "shipping.py" default-directory))
              (insert "def shipping_cost(weight):\n    return 4.5 + weight * 0.2\n")
              (save-buffer))
            (wait-until (lambda () (not (eql (plist-get (funcall status) :files) before))) 20)
            (note :index_files_after (plist-get (funcall status) :files))))
        (note :registrations (vconcat registrations))
        (note :server_errors
              (with-current-buffer (jsonrpc-events-buffer server)
                (let (found)
                  (goto-char (point-min))
                  (while (re-search-forward "Error in server[^\"]*" nil t)
                    (push (match-string 0) found))
                  (vconcat found))))

        (eglot-shutdown server)
        (note :stopped (not (jsonrpc-running-p server)))
        (note :status "done")))
  (error
   (note :status "error")
   (note :error (format "%S" err))
   (let ((events (get-buffer "*EGLOT (project/(python-mode)) events*")))
     (when events
       (note :events (with-current-buffer events
                       (buffer-substring-no-properties
                        (max (point-min) (- (point-max) 6000)) (point-max))))))))

(write-result)
(kill-emacs 0)
;;; eglot-proxy.el ends here
