;; Judges histories with Elle, for crossfire's differential test: each argument is an EDN
;; history (one op map a line) whose name ends in .list-append.edn or .rw-register.edn; for each
;; it prints one line, {:file …, :valid? …, :types [...]}, Elle's verdict under strict
;; serializability and the anomaly types it found.
(require '[clojure.edn :as edn]
         '[jepsen.history :as h]
         '[elle.list-append :as list-append]
         '[elle.rw-register :as rw-register])

(defn load-history [path]
  (with-open [r (java.io.PushbackReader. (clojure.java.io/reader path))]
    (h/history (doall (take-while some? (repeatedly #(edn/read {:eof nil} r)))))))

(doseq [path *command-line-args*]
  (let [check (if (.endsWith path ".rw-register.edn") rw-register/check list-append/check)
        result (check {:consistency-models [:strict-serializable]} (load-history path))]
    (println (pr-str {:file path
                      :valid? (:valid? result)
                      :types (sort (map name (keys (:anomalies result))))}))))
(shutdown-agents)
