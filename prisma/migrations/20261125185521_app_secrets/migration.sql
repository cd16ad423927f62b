-- CreateTable
CREATE TABLE "AppSecret" (
    "id" UUID NOT NULL,
    "appId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sealed" BYTEA NOT NULL,
    "keyId" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AppSecret_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AppSecret_appId_name_createdAt_idx" ON "AppSecret"("appId", "name", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "AppSecret_appId_name_version_key" ON "AppSecret"("appId", "name", "version");

-- AddForeignKey
ALTER TABLE "AppSecret" ADD CONSTRAINT "AppSecret_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App"("id") ON DELETE CASCADE ON UPDATE CASCADE;
