
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tok' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tok'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tok' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store credentials for a profile and fetch a first token')
            [CompletionResult]::new('print', 'print', [CompletionResultType]::ParameterValue, 'Print a valid token (refreshed first when close to expiry)')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Get a new token now')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget a profile: its settings, secrets and token')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'List profiles and their tokens (no network)')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a JWT with your own key and claims, or a nelnet profile''s NPS token')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Decode a JWT: header, claims, and its times as dates and "in 9m"')
            [CompletionResult]::new('curl', 'curl', [CompletionResultType]::ParameterValue, 'Run curl with the profile''s header, passed without touching any command line')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;login' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'The provider this profile talks to')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The provider''s environment: sandbox|production (nexterpay), production|alpha|beta|omega (n3xt), staging|production (netdirector)')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Replace the documented scheme and host (required where none is documented)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name (nexterpay)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'E-mail to log in with (merchant-v2)')
            [CompletionResult]::new('--merchant-id', '--merchant-id', [CompletionResultType]::ParameterName, 'Merchant id (merchant-v2), sent as the merchant_id header')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth2 client id (n3xt, netdirector, oauth2); the secret is asked for separately')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'N3XT project id, e.g. project-live-84ff27dd-…')
            [CompletionResult]::new('--token-url', '--token-url', [CompletionResultType]::ParameterName, 'OAuth2 token endpoint (oauth2)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'How the client authenticates (oauth2): HTTP Basic (RFC 6749 §2.3.1) or fields in the body')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Token request body encoding (oauth2)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Space-separated scopes (oauth2; netdirector defaults to "nop2/read nop2/write")')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'Audience to request (oauth2)')
            [CompletionResult]::new('--transaction', '--transaction', [CompletionResultType]::ParameterName, 'Transaction id whose session token to keep (netdirector-v1)')
            [CompletionResult]::new('--key-id', '--key-id', [CompletionResultType]::ParameterName, 'NPS API Key ID (nelnet); the API key is asked for separately')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime of the tokens tok signs (nelnet; default 5m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Use a persistent API key instead of e-mail and password (merchant-v2); the key is asked for like any secret, never taken from the command line')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'Read the secret (password, client secret, API key) as one line from stdin')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Prove the key with a documented request (nelnet: POST /tokenization/session, which creates a session that is left unused)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;print' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first when the token has less than this left (or 10 % of its lifetime)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What to print')
            [CompletionResult]::new('--var', '--var', [CompletionResultType]::ParameterName, 'Variable name for --format env')
            [CompletionResult]::new('--github-env', '--github-env', [CompletionResultType]::ParameterName, 'In GitHub Actions: append NAME=<value> to $GITHUB_ENV and print only ::add-mask::<token>')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'Read the secret as one line from stdin, if one is needed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tok;refresh' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'Read the secret as one line from stdin, if one is needed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;logout' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Forget every profile')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;status' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;sign' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('--alg', '--alg', [CompletionResultType]::ParameterName, 'Signing algorithm: HS256/384/512 (raw key bytes), RS256/384/512, PS256/384/512, ES256/384, EdDSA (PEM private key)')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Read the key from this file')
            [CompletionResult]::new('--key-env', '--key-env', [CompletionResultType]::ParameterName, 'Read the key from this environment variable')
            [CompletionResult]::new('--sub', '--sub', [CompletionResultType]::ParameterName, 'Subject claim')
            [CompletionResult]::new('--iss', '--iss', [CompletionResultType]::ParameterName, 'Issuer claim')
            [CompletionResult]::new('--aud', '--aud', [CompletionResultType]::ParameterName, 'Audience claim')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Expire this long after now (a bare number is seconds)')
            [CompletionResult]::new('--exp', '--exp', [CompletionResultType]::ParameterName, 'Expire at this time: RFC 3339 or Unix seconds')
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'A claim; V is read as JSON when it parses (42, true, ["a"]), else as a string')
            [CompletionResult]::new('--claims-json', '--claims-json', [CompletionResultType]::ParameterName, 'Claims from a JSON object in FILE, or on stdin with -')
            [CompletionResult]::new('--kid', '--kid', [CompletionResultType]::ParameterName, 'Key id for the header')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--key-stdin', '--key-stdin', [CompletionResultType]::ParameterName, 'Read the key from stdin (one trailing newline is dropped)')
            [CompletionResult]::new('--no-iat', '--no-iat', [CompletionResultType]::ParameterName, 'Leave out the iat claim')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'With a nelnet profile: read the API key as one line from stdin, if one is needed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;inspect' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Inspect the token stored for this profile')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'The verification key: raw bytes for HMAC, a PEM public key otherwise')
            [CompletionResult]::new('--key-env', '--key-env', [CompletionResultType]::ParameterName, 'The verification key from this environment variable')
            [CompletionResult]::new('--alg', '--alg', [CompletionResultType]::ParameterName, 'Accept only this algorithm (the key''s family is enforced either way)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON: header, payload, times and an expired flag')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Check the signature (exit 4 when it does not match or the token is unsigned)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;curl' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first when the token has less than this left (or 10 % of its lifetime)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;completions' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Limit for one HTTP exchange, e.g. 30s or 1m')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what tok does, on stderr (secrets are never shown)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tok;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store credentials for a profile and fetch a first token')
            [CompletionResult]::new('print', 'print', [CompletionResultType]::ParameterValue, 'Print a valid token (refreshed first when close to expiry)')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Get a new token now')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget a profile: its settings, secrets and token')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'List profiles and their tokens (no network)')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a JWT with your own key and claims, or a nelnet profile''s NPS token')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Decode a JWT: header, claims, and its times as dates and "in 9m"')
            [CompletionResult]::new('curl', 'curl', [CompletionResultType]::ParameterValue, 'Run curl with the profile''s header, passed without touching any command line')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;help;login' {
            break
        }
        'tok;help;print' {
            break
        }
        'tok;help;refresh' {
            break
        }
        'tok;help;logout' {
            break
        }
        'tok;help;status' {
            break
        }
        'tok;help;sign' {
            break
        }
        'tok;help;inspect' {
            break
        }
        'tok;help;curl' {
            break
        }
        'tok;help;completions' {
            break
        }
        'tok;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
