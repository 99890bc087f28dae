-- Access rules for the research Orthanc that de-identification gateways upload to.
-- Orthanc calls IncomingHttpRequestFilter for every REST request after checking the password
-- (AuthenticationEnabled + RegisteredUsers); returning false answers "403 Forbidden".
-- The role comes from the account name, so adding a clinic or a researcher is one line in
-- credentials.json and no change here:
--   gateway*     a clinic's gateway: upload only (plus the few routes it needs to check its own deliveries)
--   researcher*  read only: browse, search, download (ZIP, DICOMDIR, DICOMweb)
--   admin*       everything (deleting a withdrawn patient's studies, jobs, maintenance)
-- Any other account may do nothing at all.

local ID = '[0-9a-f%-]+'        -- an Orthanc resource ID (SHA-1 in dashed groups) or a job ID (UUID)
local LEVELS = { 'patients', 'studies', 'series' }

local function matches(uri, patterns)
  for _, pattern in ipairs(patterns) do
    if string.match(uri, '^' .. pattern .. '/?$') then
      return true
    end
  end
  return false
end

-- Uploading, and the harmless answers a gateway needs around it: the server version (start-up check),
-- and the technical facts of an instance it uploaded, found by its own UID (delivery confirmation).
-- None of these lists or shows the images or their attributes.
local GATEWAY_GET = {
  '/system',
  '/instances/' .. ID .. '/metadata',
  '/instances/' .. ID .. '/metadata/[A-Za-z]+',
  '/instances/' .. ID .. '/attachments/dicom/md5',
  '/instances/' .. ID .. '/attachments/dicom/size',
  -- DICOMweb's delivery check: QIDO-RS for instances of a study the gateway names by its (random 2.25.) UID.
  '/dicom%-web/studies/[0-9.]+/instances',
}
local GATEWAY_POST = {
  '/instances',                      -- Orthanc's REST upload
  '/dicom%-web/studies',             -- DICOMweb STOW-RS
  '/dicom%-web/studies/[0-9.]+',     -- STOW-RS into a given study
  '/tools/lookup',                   -- UID -> Orthanc ID, nothing else
}

-- Reading needs a few POSTs: searching (the web UI's study search uses /tools/find) and building
-- archives. Everything else that is a POST changes data (modify, anonymize, send) and is refused.
local RESEARCHER_POST = {
  '/tools/find',
  '/tools/lookup',
  '/tools/create%-archive',
  '/tools/create%-media',
  '/tools/create%-media%-extended',
}
for _, level in ipairs(LEVELS) do
  table.insert(RESEARCHER_POST, '/' .. level .. '/' .. ID .. '/archive')
  table.insert(RESEARCHER_POST, '/' .. level .. '/' .. ID .. '/media')
end

local function roleOf(username)
  if username == nil then return nil end
  if string.sub(username, 1, 7) == 'gateway' then return 'gateway' end
  if string.sub(username, 1, 10) == 'researcher' then return 'researcher' end
  if string.sub(username, 1, 5) == 'admin' then return 'admin' end
  return nil
end

function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  local role = roleOf(username)
  if role == 'admin' then
    return true
  elseif role == 'gateway' then
    if method == 'POST' then return matches(uri, GATEWAY_POST) end
    if method == 'GET' then return matches(uri, GATEWAY_GET) end
    return false
  elseif role == 'researcher' then
    if method == 'GET' then return true end
    if method == 'POST' then return matches(uri, RESEARCHER_POST) end
    return false
  end
  return false
end
