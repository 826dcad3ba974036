;;; lsp-mode-addon.el --- Emacs batch test: ai-lsp registers as an lsp-mode add-on client  -*- lexical-binding: t; -*-

;; Loads lsp-mode 8 and editors/emacs/ai-lsp.el (AI_LSP_EL), registers ai-lsp and writes
;; the registered client's shape as JSON to AI_LSP_OUT.

(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
  (add-to-list 'load-path dir))
(require 'json)
(load (getenv "AI_LSP_EL") nil t)

(let (result)
  (condition-case err
      (progn
        (setq ai-lsp-command '("ai-lsp" "--log-file" "/tmp/ai-lsp.log"))
        (ai-lsp-lsp-mode-setup)
        (let ((client (gethash 'ai-lsp lsp-clients)))
          (setq result
                (list :registered (and client t)
                      :add_on (and client (lsp--client-add-on? client) t)
                      :priority (and client (lsp--client-priority client))
                      :server_id (and client (lsp--client-server-id client))
                      :python (with-temp-buffer
                                (python-mode)
                                (and (funcall (lsp--client-activation-fn client)
                                              "x.py" 'python-mode)
                                     t))
                      :text (with-temp-buffer
                              (text-mode)
                              (and (funcall (lsp--client-activation-fn client)
                                            "notes.txt" 'text-mode)
                                   t))))))
    (error (setq result (list :error (format "%S" err)))))
  (with-temp-file (getenv "AI_LSP_OUT")
    (insert (json-encode result))))

(kill-emacs 0)
;;; lsp-mode-addon.el ends here
